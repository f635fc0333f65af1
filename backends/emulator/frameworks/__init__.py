"""Framework images in script mode: the user's own training and inference scripts, run the way the SKLearn
framework container runs them, inside the image's runtime (`runtimes/`). Kept compatible with Python 3.8+
(the runtimes' interpreters)."""
