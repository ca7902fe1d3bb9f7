"""The benchmarks behind `releasebot bench ...`: each prints its figures beside its baseline."""
