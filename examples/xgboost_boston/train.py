"""Boston house prices with XGBoost in SageMaker's XGBoost framework mode: your own training loop on the XGBoost
image's release.

Training: `XGBoost(entry_point="train.py", framework_version="1.7-1")` runs this file with the hyperparameters as
arguments and the channels in `SM_CHANNEL_<NAME>` (CSV, no header, label first). The model goes to
`SM_MODEL_DIR` as XGBoost's JSON.

Serving: the XGBoost image imports this file and calls `model_fn`; its defaults parse CSV requests into a
DMatrix and answer `booster.predict(dmatrix)`.
"""

import argparse
import os

import pandas as pd
import xgboost as xgb

MODEL_FILE = "model.json"


def read_channel(name):
    directory = os.environ["SM_CHANNEL_" + name.upper()]
    files = sorted(f for f in os.listdir(directory) if not f.startswith("."))
    data = pd.concat([pd.read_csv(os.path.join(directory, f), header=None) for f in files])
    return xgb.DMatrix(data.iloc[:, 1:].to_numpy(), label=data.iloc[:, 0].to_numpy())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int, default=50)
    parser.add_argument("--max_depth", type=int, default=5)
    parser.add_argument("--eta", type=float, default=0.2)
    args, _ = parser.parse_known_args()

    train = read_channel("train")
    evals = [(train, "train")]
    if "SM_CHANNEL_VALIDATION" in os.environ:
        evals.append((read_channel("validation"), "validation"))
    params = {"max_depth": args.max_depth, "eta": args.eta, "objective": "reg:squarederror"}
    booster = xgb.train(params, train, num_boost_round=args.num_round, evals=evals)
    booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], MODEL_FILE))


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, MODEL_FILE))
    return booster


if __name__ == "__main__":
    main()
