"""The SageMaker control plane: wire layer (`api`), one module per resource kind, and their state."""
