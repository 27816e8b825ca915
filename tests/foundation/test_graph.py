import numpy as np
import pytest
import torch
from zoo.models.skeleton.graph import LAYOUTS, Graph, get_layout


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_is_a_tree_rooted_at_the_centre(name):
    layout = get_layout(name)
    assert len(layout.bones) == layout.num_joints - 1
    parents = dict(layout.bones)
    for joint in range(layout.num_joints):
        seen = set()
        while joint in parents:  # walking up must reach the root without cycles
            assert joint not in seen
            seen.add(joint)
            joint = parents[joint]
    for mode in ("stgcn_spatial", "spatial"):
        A = Graph(name, mode).A
        assert A.shape == (3, layout.num_joints, layout.num_joints)
        assert np.isfinite(A).all()


def test_stgcn_spatial_partition_equals_official_adjacency(reference_dir):
    official = torch.load(reference_dir / "stgcn_official_ntu60.pt", weights_only=True)
    np.testing.assert_allclose(Graph("ntu25", "stgcn_spatial").A,
                               official["state_dict"]["A"].numpy(), atol=1e-7)


def test_spatial_mode_columns_are_normalised():
    A = Graph("kinect20", "spatial").A
    np.testing.assert_allclose(A[0], np.eye(20))
    for k in (1, 2):
        col = A[k].sum(0)
        assert np.all((np.abs(col - 1) < 1e-6) | (col == 0))


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown skeleton layout 'ntu26'"):
        get_layout("ntu26")
