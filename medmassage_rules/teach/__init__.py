"""Teaching: the trace of a run in class, its quiz, and the consultation that builds a case by asking
only what the rules need."""
