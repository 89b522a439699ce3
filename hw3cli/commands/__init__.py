"""One module per subcommand: options -> core call -> output. Thin by design."""
