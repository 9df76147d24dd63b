"""Parameters of the photo / screen classifier in :mod:`hybrid.enhance.content`.

GENERATED FILE, do not edit: written by ``python scripts/fit_content.py``.
Fitted (seed 0) on 4196 encoded training images: 2226 from build/screens/train
(scripts/make_screens.py) and 1970 from ../shared/data/train, at qualities 10..95
by libjpeg-turbo (4:2:0, 4:4:4, greyscale) and hybrid (default and best=True);
validation results in docs/content_classifier_results.md.
"""

FEATURE_NAMES = (
    "few_ac_share",
    "some_ac_share",
    "high_freq_share",
    "log_ac_energy",
    "dc_repeat_share",
    "top_colour_share",
    "dc_mode_share",
)
FEATURE_MEAN = (
    0.05928110082078955,
    0.10185795424472911,
    0.16560070395342916,
    6.646903308092468,
    0.4941861349348922,
    0.44198332023802434,
    0.4421678747114856,
)
FEATURE_SCALE = (
    0.0961063011178684,
    0.11437826730604761,
    0.1314659925324271,
    0.8715758641382775,
    0.3232361016844524,
    0.36599217322489513,
    0.34141975272229835,
)
WEIGHTS = (
    -1.07882843877613,
    0.5961062855580098,
    1.5091555750831191,
    0.8390206662607502,
    1.8525866078421245,
    1.9175916414276595,
    1.9907211122220705,
)
BIAS = 0.4030219119324434
THRESHOLD = 0.5
