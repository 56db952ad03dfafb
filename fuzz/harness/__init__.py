"""Coverage-guided harnesses (atheris, libFuzzer underneath) for the parsers of
``fuzz.targets``; each also runs as a bounded random mutation loop where atheris is not
installed. See fuzz/README.md for the campaign commands."""
