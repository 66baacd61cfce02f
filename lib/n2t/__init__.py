"""n2t — From N-grams to Transformers: the finished code that the book builds chapter by chapter."""

__version__ = "0.1.0"
