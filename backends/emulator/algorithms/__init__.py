"""Built-in SageMaker algorithms, run natively instead of in their Docker images."""
