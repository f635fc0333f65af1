"""The built-in XGBoost algorithm, reproducing the public sagemaker-xgboost-container's behaviour.

Every container version the SDKs can resolve (`images.py`) maps to a `ContainerVersion` (`versions.py`) that
holds what differs between them; the other modules read those rules instead of branching on version names.
"""
