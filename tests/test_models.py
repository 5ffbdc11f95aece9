import pytest
import torch

from vton.errors import ModelLoadError
from vton.gmm import GMM, GMMConfig, feature_correlation, warp
from vton.hub import load_model, load_original_checkpoint, save_model
from vton.tom import TOM, TOMConfig, change_alpha, compose, tom_input


def count(state, skip_tracked=True):
    return sum(v.numel() for k, v in state.items() if not (skip_tracked and k.endswith("num_batches_tracked")))


def test_gmm_matches_reference_layout():
    state = GMM().state_dict()
    assert len(state) == 104
    assert count(state) == 19_065_458
    assert state["extractionA.model.0.weight"].shape == (64, 22, 4, 4)
    assert state["extractionB.model.0.weight"].shape == (64, 3, 4, 4)
    assert state["extractionA.model.14.running_var"].shape == (512,)
    assert "extractionA.model.15.weight" in state and "extractionA.model.17.weight" not in state
    assert state["regression.linear.weight"].shape == (50, 768)
    plus = GMM(GMMConfig(garment_channels=1)).state_dict()
    assert plus["extractionB.model.0.weight"].shape == (64, 1, 4, 4)


def test_tom_matches_reference_layout():
    state = TOM().state_dict()
    assert len(state) == 24
    assert count(state) == 21_349_252
    assert state["model.model.0.weight"].shape == (64, 25, 4, 4)
    assert state["model.model.1.model.1.weight"].shape == (128, 64, 4, 4)
    assert state["model.model.4.weight"].shape == (4, 128, 3, 3)
    assert TOM(TOMConfig(in_channels=26)).state_dict()["model.model.0.weight"].shape == (64, 26, 4, 4)


def test_tom_output_norm_option():
    """Without the reference's output InstanceNorm the same weights can reach a mask near 1 everywhere; with it,
    every image's mask logits have zero mean. The state_dict keys do not change."""
    torch.manual_seed(0)
    reference, plain = TOM(TOMConfig(ngf=8)), TOM(TOMConfig(ngf=8, output_norm=False))
    assert reference.state_dict().keys() == plain.state_dict().keys()
    with torch.no_grad():
        reference.model.model[4].bias[3] = 4.0
    plain.load_state_dict(reference.state_dict())
    x = torch.rand(2, 25, 256, 192) * 2 - 1
    assert reference(x)[1].mean() < 0.6
    assert plain(x)[1].min() > 0.9


def test_tom_input_shows_what_its_config_says():
    torch.manual_seed(0)
    rep, photo = torch.rand(2, 22, 8, 6) * 2 - 1, torch.rand(2, 3, 8, 6) * 2 - 1
    warped, warped_mask = torch.rand(2, 3, 8, 6), torch.rand(2, 1, 8, 6)
    lower, hidden = torch.zeros(2, 1, 8, 6), torch.zeros(2, 1, 8, 6)
    lower[:, :, 5:] = 1
    hidden[:, :, 2:5] = 1
    assert torch.equal(tom_input(TOMConfig(), rep, photo, lower, hidden, warped, warped_mask), torch.cat([rep, warped], 1))
    x = tom_input(TOMConfig(in_channels=26, person_input="head+lower"), rep, photo, lower, hidden, warped, warped_mask)
    assert x.shape == (2, 26, 8, 6)
    assert torch.equal(x[:, 1:4, 5:], photo[:, :, 5:]) and torch.equal(x[:, 1:4, :5], rep[:, 1:4, :5])
    assert torch.equal(x[:, [0, *range(4, 22)]], rep[:, [0, *range(4, 22)]])
    assert torch.equal(x[:, 22:25], warped) and torch.equal(x[:, 25:], warped_mask)
    # agnostic: the photo everywhere but the hidden rows (0 there), and the hidden mask as the last channel
    x = tom_input(TOMConfig(in_channels=27, person_input="agnostic"), rep, photo, lower, hidden, warped, warped_mask)
    assert x.shape == (2, 27, 8, 6)
    assert torch.equal(x[:, 1:4, :2], photo[:, :, :2]) and torch.equal(x[:, 1:4, 5:], photo[:, :, 5:])
    assert (x[:, 1:4, 2:5] == 0).all() and torch.equal(x[:, 26:], hidden)
    with pytest.raises(ValueError, match="27"):
        TOMConfig(in_channels=26, person_input="agnostic")


def test_change_alpha_is_the_old_and_the_new_garment_never_the_head():
    upper, head, comp, warped_mask = (torch.zeros(1, 1, 5, 1) for _ in range(4))
    head[..., 0, 0] = 1
    upper[..., 1, 0] = 1  # the old garment: changed whatever the TOM does
    comp[..., 0, 0] = comp[..., 2, 0] = comp[..., 3, 0] = 0.9  # the new garment over the head, an arm, a trouser
    warped_mask[..., :3, 0] = 1.0  # ... but at the trousers nothing was warped
    alpha = change_alpha(upper, head, comp, warped_mask)[0, 0, :, 0]
    assert alpha.tolist() == pytest.approx([0.0, 1.0, 0.9, 0.0, 0.0])


def test_correlation_ordering():
    """Channel k is person position k in column-major order; spatial positions are garment positions."""
    b, c, h, w = 1, 4, 3, 2
    person, garment = torch.randn(b, c, h, w), torch.randn(b, c, h, w)
    corr = feature_correlation(person, garment)
    assert corr.shape == (b, h * w, h, w)
    for k in range(h * w):
        pi, pj = k % h, k // h  # column-major
        for gi in range(h):
            for gj in range(w):
                expected = (person[0, :, pi, pj] * garment[0, :, gi, gj]).sum()
                assert torch.allclose(corr[0, k, gi, gj], expected, atol=1e-6)


@pytest.mark.parametrize("ngf", [8, 16])
def test_forward_shapes_ranges_and_gradients(ngf):
    torch.manual_seed(0)
    gmm = GMM(GMMConfig(ngf=ngf))
    torch.nn.init.normal_(gmm.regression.linear.weight, 0, 0.02)
    person, garment = torch.rand(2, 22, 256, 192) * 2 - 1, torch.rand(2, 3, 256, 192) * 2 - 1
    grid, theta = gmm(person, garment)
    assert grid.shape == (2, 256, 192, 2) and theta.shape == (2, 50)
    assert theta.abs().max() < 1
    warped = warp(garment, grid)
    tom = TOM(TOMConfig(ngf=ngf))
    rendered, mask = tom(torch.cat([person, warped], 1))
    assert rendered.shape == (2, 3, 256, 192) and mask.shape == (2, 1, 256, 192)
    assert rendered.min() >= -1 and rendered.max() <= 1 and mask.min() >= 0 and mask.max() <= 1
    out = compose(warped, rendered, mask)
    (out.mean() + theta.mean()).backward()
    for name, p in list(gmm.named_parameters()) + list(tom.named_parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_original_checkpoint_loads_and_gives_same_outputs(tmp_path):
    torch.manual_seed(0)
    for model, inputs in ((GMM(GMMConfig(garment_channels=1)), (torch.randn(1, 22, 256, 192), torch.randn(1, 1, 256, 192))),
                          (TOM(TOMConfig(ngf=16, in_channels=26)), (torch.randn(1, 26, 256, 192),))):
        model.eval()
        # a PyTorch 0.4.0 state_dict: no num_batches_tracked
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        path = tmp_path / f"{type(model).__name__}.pth"
        torch.save(state, path)
        loaded = load_original_checkpoint(path)
        assert type(loaded) is type(model) and loaded.config == model.config
        with torch.no_grad():
            for a, b in zip(model(*inputs), loaded(*inputs)):
                assert torch.equal(a, b)


def test_wrong_checkpoint_names_the_first_mismatch(tmp_path):
    state = GMM().state_dict()
    state["regression.linear.weight"] = torch.zeros(50, 700)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ModelLoadError, match=r"regression\.linear\.weight has shape \(50, 700\), expected \(50, 768\)"):
        load_original_checkpoint(tmp_path / "bad.pth")
    torch.save({"foo": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ModelLoadError, match="not a CP-VTON GMM or TOM"):
        load_original_checkpoint(tmp_path / "other.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="not a loadable PyTorch state_dict"):
        load_original_checkpoint(tmp_path / "garbage.pth")


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ModelLoadError):
        load_original_checkpoint(tmp_path / "evil.pth")


def test_hub_format_round_trip(tmp_path):
    torch.manual_seed(0)
    gmm = GMM(GMMConfig(ngf=8)).eval()
    torch.nn.init.normal_(gmm.regression.linear.weight, 0, 0.02)
    save_model(gmm, tmp_path / "gmm")
    loaded = load_model(tmp_path / "gmm", "gmm")
    x = (torch.randn(1, 22, 256, 192), torch.randn(1, 3, 256, 192))
    with torch.no_grad():
        assert torch.equal(gmm(*x)[1], loaded(*x)[1])
    save_model(gmm, tmp_path / "half", torch.float16)
    half = load_model(tmp_path / "half", "gmm")
    assert (tmp_path / "half" / "model.safetensors").stat().st_size < 0.6 * (tmp_path / "gmm" / "model.safetensors").stat().st_size
    with torch.no_grad():
        assert torch.allclose(gmm(*x)[1], half(*x)[1], atol=2e-2)
    with pytest.raises(ModelLoadError, match="expected model_type 'tom'"):
        load_model(tmp_path / "gmm", "tom")
    (tmp_path / "gmm" / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(ModelLoadError, match="not a readable safetensors file"):
        load_model(tmp_path / "gmm", "gmm")
