"""Reading and writing arrays and files: the only place that knows file formats."""
