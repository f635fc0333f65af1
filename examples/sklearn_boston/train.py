"""Boston house prices with scikit-learn's GradientBoostingRegressor, in SageMaker script mode.

Training: SageMaker's SKLearn image runs this file with the hyperparameters as arguments
(`--n_estimators 300 --learning_rate 0.05 ...`) and the channels' directories in `SM_CHANNEL_<NAME>`. Each
channel holds CSV files without a header, the label (MEDV) first: the format of the reference workflow's
train and validation channels. The model goes to `SM_MODEL_DIR`, which becomes model.tar.gz.

Serving: the same image imports this file and calls `model_fn`; the container's defaults decode CSV, JSON or
npy requests into an array and answer `model.predict(array)`.
"""

import argparse
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

MODEL_FILE = "model.joblib"


def read_channel(name):
    """The rows of every CSV file of a channel: (features, label)."""
    directory = os.environ["SM_CHANNEL_" + name.upper()]
    files = sorted(f for f in os.listdir(directory) if not f.startswith("."))
    data = pd.concat([pd.read_csv(os.path.join(directory, f), header=None) for f in files])
    return data.iloc[:, 1:].to_numpy(), data.iloc[:, 0].to_numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=300)
    parser.add_argument("--learning_rate", type=float, default=0.05)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--subsample", type=float, default=1.0)
    parser.add_argument("--random_state", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    args, _ = parser.parse_known_args()

    features, label = read_channel("train")
    model = GradientBoostingRegressor(n_estimators=args.n_estimators, learning_rate=args.learning_rate,
                                      max_depth=args.max_depth, subsample=args.subsample,
                                      random_state=args.random_state)
    model.fit(features, label)
    print(f"train:rmse={rmse(model, features, label):.5f}")
    if "SM_CHANNEL_VALIDATION" in os.environ:
        features, label = read_channel("validation")
        print(f"validation:rmse={rmse(model, features, label):.5f}")
    joblib.dump(model, os.path.join(args.model_dir, MODEL_FILE))


def rmse(model, features, label):
    return float(np.sqrt(np.mean((model.predict(features) - label) ** 2)))


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


if __name__ == "__main__":
    main()
