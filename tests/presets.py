"""The competition presets and their committed fixtures, as the tests use them."""
from helpers import REPO
from fasthf.competition import Competition

PRESETS = REPO / "config" / "competitions"
FIXTURES = REPO / "tests" / "fixtures"
SLUGS = ["sentiment-analysis-on-movie-reviews", "nlp-getting-started", "spooky-author-identification",
         "jigsaw-toxic-comment-classification-challenge", "commonlitreadabilityprize",
         "feedback-prize-english-language-learning"]
FIXTURE = {slug: FIXTURES / f"{slug}.zip" for slug in SLUGS}
FIXTURE["sentiment-analysis-on-movie-reviews"] = FIXTURES / "sentiment-analysis-on-movie-reviews-mini.zip"
EXPECTED = {  # slug: (task, metric, submission form)
    "sentiment-analysis-on-movie-reviews": ("multiclass", "accuracy", "labels"),
    "nlp-getting-started": ("binary", "f1", "labels"),
    "spooky-author-identification": ("multiclass", "log_loss", "probabilities"),
    "jigsaw-toxic-comment-classification-challenge": ("multilabel", "roc_auc", "probabilities"),
    "commonlitreadabilityprize": ("regression", "rmse", "probabilities"),
    "feedback-prize-english-language-learning": ("regression", "mcrmse", "probabilities"),
}


def preset(slug) -> Competition:
    return Competition.from_config(slug, PRESETS)
