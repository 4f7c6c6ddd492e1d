"""Character n-gram models."""
