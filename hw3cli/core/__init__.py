"""The mathematics: pure functions over numbers and arrays, results as frozen dataclasses."""
