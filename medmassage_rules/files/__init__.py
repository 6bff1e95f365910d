"""Files: bounded reading of case and rule files (regular files only, size limits, strict YAML and
JSON), and atomic writing of outputs that never replace an input."""
