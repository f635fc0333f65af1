"""How a job's objects are given to its hosts (hosts.py), and each host's resourceconfig.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.algorithms.xgboost.tracker import link_maps
from backends.emulator.executor.hosts import (
    distribute,
    free_ports,
    host_names,
    replicate,
    shard,
)
from backends.emulator.executor.workspace import TrainingWorkspace


def test_host_names_are_sagemakers() -> None:
    assert host_names(1) == ["algo-1"]
    assert host_names(3) == ["algo-1", "algo-2", "algo-3"]


def test_sharded_by_s3_key_deals_objects_out_in_listing_order() -> None:
    keys = ["a", "b", "c", "d", "e"]
    assert distribute(keys, "ShardedByS3Key", 2) == [["a", "c", "e"], ["b", "d"]]
    assert distribute(keys, "ShardedByS3Key", 3) == [["a", "d"], ["b", "e"], ["c"]]
    # More hosts than objects: the last hosts get none (SageMaker's documentation warns of it).
    assert distribute(["a", "b"], "ShardedByS3Key", 3) == [["a"], ["b"], []]


def test_fully_replicated_and_the_default_give_everyone_everything() -> None:
    assert distribute(["a", "b"], "FullyReplicated", 2) == [["a", "b"], ["a", "b"]]
    assert distribute(["a", "b"], None, 2) == [["a", "b"], ["a", "b"]]


@given(st.lists(st.text(min_size=1), unique=True, max_size=40), st.integers(1, 9))
def test_shards_partition_the_objects_evenly(keys: list[str], hosts: int) -> None:
    shares = [shard(keys, hosts, index) for index in range(hosts)]
    assert sorted(key for share in shares for key in share) == sorted(keys)
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the extra objects go to the lower-numbered hosts


# What XGBoost 1.0's own tracker computes (RabitTracker.get_link_map): neighbours, parent and ring by rank.
XGBOOST_LINK_MAPS = {
    2: ({0: [1], 1: [0]}, {0: -1, 1: 0}, {0: (1, 1), 1: (0, 0)}),
    3: ({0: [1, 2], 1: [0], 2: [0]}, {0: -1, 1: 0, 2: 0}, {0: (2, 1), 1: (0, 2), 2: (1, 0)}),
    5: ({0: [1, 4], 1: [0, 2, 3], 2: [1], 3: [1], 4: [0]}, {0: -1, 1: 0, 2: 1, 3: 1, 4: 0},
        {0: (4, 1), 1: (0, 2), 2: (1, 3), 3: (2, 4), 4: (3, 0)}),
    8: ({0: [1, 7], 1: [0, 2, 4], 2: [1, 3], 3: [2], 4: [1], 5: [7], 6: [7], 7: [0, 5, 6]},
        {0: -1, 1: 0, 2: 1, 3: 2, 4: 1, 5: 7, 6: 7, 7: 0},
        {0: (7, 1), 1: (0, 2), 2: (1, 3), 3: (2, 4), 4: (3, 5), 5: (4, 6), 6: (5, 7), 7: (6, 0)}),
}


@pytest.mark.parametrize("count", sorted(XGBOOST_LINK_MAPS))
def test_the_emulators_tracker_links_workers_as_xgboosts(count: int) -> None:
    """The tracker that serves 0.72 and 0.90 (which ship none) lays out the tree and ring as XGBoost's does."""
    tree, parent, ring = link_maps(count)
    expected_tree, expected_parent, expected_ring = XGBOOST_LINK_MAPS[count]
    assert {rank: sorted(peers) for rank, peers in tree.items()} == expected_tree
    assert parent == expected_parent and ring == expected_ring


def test_free_ports_are_distinct() -> None:
    ports = free_ports(2)
    assert len(set(ports)) == 2 and all(1024 < port < 65536 for port in ports)


def test_each_host_has_its_own_resourceconfig(tmp_path: Path) -> None:
    job = {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}, "AlgorithmSpecification": {}}
    for name in host_names(2):
        workspace = TrainingWorkspace(tmp_path / name)
        workspace.create()
        workspace.write_config(job, current_host=name, hosts=host_names(2))
        assert json.loads((workspace.config / "resourceconfig.json").read_text()) == {
            "current_host": name, "current_instance_type": "ml.m5.xlarge", "hosts": ["algo-1", "algo-2"],
            "network_interface_name": "eth0"}


def test_one_host_config_is_unchanged(tmp_path: Path) -> None:
    workspace = TrainingWorkspace(tmp_path)
    workspace.create()
    workspace.write_config({"ResourceConfig": {"InstanceType": "ml.m4.xlarge"}, "AlgorithmSpecification": {}})
    assert json.loads((workspace.config / "resourceconfig.json").read_text()) == {
        "current_host": "algo-1", "current_instance_type": "ml.m4.xlarge", "hosts": ["algo-1"],
        "network_interface_name": "eth0"}


def test_replicate_links_a_tree(tmp_path: Path) -> None:
    source = tmp_path / "a"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "x.csv").write_text("1,2\n")
    replicate(source, tmp_path / "b")
    copy = tmp_path / "b" / "sub" / "x.csv"
    assert copy.read_text() == "1,2\n"
    assert copy.stat().st_ino == (source / "sub" / "x.csv").stat().st_ino  # a hard link: no second copy
