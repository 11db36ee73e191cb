"""Every random stream comes from the config's seed and the identity of what it seeds."""

import torch

from synthval.classifiers import create_classifier, state_digest
from synthval.recipes import run_seed
from synthval.zoo import RANDOM_WIRED, STANDARD, Member, groups, member_seed, members, reference_seed

ZOO = {
    "architectures": ["mlp", "cnn"],
    "random_wired": {"count": 2},
    "variants": {"base": {}, "wide": {}},
    "seeds": [0, 1, 2],
    "fit_seeds": [0],
    "train_splits": ["train", "fit"],
}


def test_member_seeds_come_from_the_whole_identity_and_never_meet_the_reference():
    zoo = members(ZOO)
    seeds = {m.name: member_seed(0, "train1000", m) for m in zoo}
    assert (
        len(set(seeds.values())) == len(zoo) == 2 * (4 * 2 * 3) // 2 + 4 * 2
    )  # 24 train + 8 fit members, all different
    # seed index 0 of every architecture is its own stream, and the fit twin of a member is another
    assert seeds["mlp-base-s0"] != seeds["cnn-base-s0"] != seeds["cnn-base-s0-fit"]
    assert reference_seed(0, "train1000", 0) not in seeds.values()
    assert member_seed(0, "train1000", Member("cnn", "base", 0)) != member_seed(
        0, "train5000", Member("cnn", "base", 0)
    )
    assert member_seed(1, "train1000", Member("cnn", "base", 0)) != seeds["cnn-base-s0"]  # the global seed matters
    assert member_seed(0, "train1000", Member("cnn", "base", 0)) == seeds["cnn-base-s0"]  # and nothing else


def test_runs_of_one_seed_share_a_seed_and_start_from_the_same_weights_whatever_was_loaded_first():
    seed = run_seed(0, "train1000", 1)
    assert seed == run_seed(0, "train1000", 1) != run_seed(0, "train1000", 2)
    plain = create_classifier("cnn", 10, 1, 8, seed=seed)
    torch.manual_seed(123)
    create_classifier("resnet8", 10, 1, 8)  # a guide built first draws from the global RNG
    guided = create_classifier("cnn", 10, 1, 8, seed=seed)
    assert state_digest(plain) == state_digest(guided)
    assert state_digest(create_classifier("cnn", 10, 1, 8, seed=seed + 1)) != state_digest(plain)
    # the global stream is left as it was
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    create_classifier("cnn", 10, 1, 8, seed=seed)
    assert torch.equal(torch.rand(3), expected)


def test_default_groups_separate_the_randomly_wired_networks_and_configs_can_name_their_own():
    zoo = {**ZOO, "groups": {}}
    assert groups(zoo) == {"mlp": STANDARD, "cnn": STANDARD, "rwnn00": RANDOM_WIRED, "rwnn01": RANDOM_WIRED}
    named = groups({**ZOO, "groups": {"convolutional": ["cnn", "rwnn"], "dense": ["mlp"]}})
    assert named == {"mlp": "dense", "cnn": "convolutional", "rwnn00": "convolutional", "rwnn01": "convolutional"}
