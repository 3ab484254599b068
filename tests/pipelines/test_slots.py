"""Slot attention over token grids: it learns to reconstruct object scenes, extraction is deterministic, the
centroids are where the attention is, and checkpoints round-trip."""

import pytest
import torch

from pipelines.features.slots import (
    SlotAttention,
    SlotAutoencoder,
    encode_slots,
    grid_coordinates,
    load_slot_autoencoder,
    reconstruction_error,
    save_slot_autoencoder,
    slot_entities,
    train_slot_autoencoder,
)

H = W = 6
D = 16


def object_scenes(n: int, seed: int, n_objects: int = 3) -> torch.Tensor:
    """(n, 6, 6, 16) token grids: a background vector everywhere and ``n_objects`` distinct object vectors, each
    filling a 2x2 block at a random place (later objects cover earlier ones), plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    vectors = torch.randn(n_objects + 1, D, generator=torch.Generator().manual_seed(123))  # same in every call
    x = vectors[0].expand(n, H, W, D).clone()
    rows = torch.randint(0, H - 1, (n, n_objects), generator=g)
    cols = torch.randint(0, W - 1, (n, n_objects), generator=g)
    trial = torch.arange(n)
    for o in range(n_objects):
        for dy in (0, 1):
            for dx in (0, 1):
                x[trial, rows[:, o] + dy, cols[:, o] + dx] = vectors[o + 1]
    return x + 0.05 * torch.randn(x.shape, generator=g)


@pytest.fixture(scope="module")
def trained():
    return train_slot_autoencoder(
        object_scenes(2000, seed=0),
        num_slots=4,
        slot_dim=32,
        hidden=64,
        steps=500,
        batch_size=32,
        lr=3e-3,
        seed=0,
        progress=False,
    )


def test_autoencoder_reconstructs_far_better_than_the_mean_token(trained):
    held_out = object_scenes(300, seed=1)
    # predicting the training mean token scores mean(z^2) in the standardised units of the loss
    mean_token_error = trained.standardise(held_out).pow(2).mean().item()
    assert 0.9 < mean_token_error < 1.1
    assert reconstruction_error(trained, held_out) < 0.6 * mean_token_error
    losses = torch.tensor(trained.train_losses)
    assert len(losses) == 500 and losses[-50:].mean() < 0.7 * losses[:50].mean()


def test_encode_slots_shapes_determinism_and_centroids(trained):
    tokens = object_scenes(10, seed=2).reshape(2, 5, H, W, D)  # (B, T, h, w, D)
    slots, centroids = encode_slots(trained, tokens)
    assert slots.shape == (2, 5, 4, 32) and centroids.shape == (2, 5, 4, 2)
    assert centroids.min() >= 0 and centroids.max() <= 1
    again_slots, again_centroids = encode_slots(trained, tokens)
    assert torch.equal(slots, again_slots) and torch.equal(centroids, again_centroids)
    # one shared initial draw: a frame's slots do not depend on the batch it was encoded in
    small_slots, _ = encode_slots(trained, tokens, batch_size=3)
    torch.testing.assert_close(small_slots, slots, atol=1e-5, rtol=1e-5)
    # ... but another seed is another draw
    assert not torch.allclose(encode_slots(trained, tokens, seed=1)[0], slots)
    entities = slot_entities(trained, tokens)
    assert entities.shape == (2, 5, 4, 34)
    assert torch.equal(entities[..., :32], slots) and torch.equal(entities[..., 32:], centroids)
    with pytest.raises(ValueError, match="must be"):
        encode_slots(trained, tokens[0])


def test_centroid_is_the_attention_weighted_cell_centre():
    model = SlotAutoencoder(D, (4, 5), num_slots=2, slot_dim=8, hidden=16)
    attn = torch.zeros(1, 2, 20)
    attn[0, 0, 2 * 5 + 4] = 1.0  # slot 0: all on row 2, column 4
    attn[0, 1, [0, 19]] = 1.0  # slot 1: half on the first cell, half on the last
    expected = torch.tensor([[[4.5 / 5, 2.5 / 4], [0.5, 0.5]]])
    torch.testing.assert_close(model.centroids(attn), expected)
    corners = torch.tensor([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])  # (x, y), row-major
    torch.testing.assert_close(grid_coordinates(2, 2), corners)


def test_slot_attention_competes_over_slots_and_is_seeded():
    torch.manual_seed(0)
    sa = SlotAttention(in_dim=12, num_slots=5, slot_dim=8, iters=3)
    x = torch.randn(3, 20, 12)
    slots, attn = sa(x, torch.Generator().manual_seed(0))
    assert slots.shape == (3, 5, 8) and attn.shape == (3, 5, 20)
    # softmax over slots (plus the small epsilon per slot): every input's attention is shared out among the slots
    torch.testing.assert_close(attn.sum(1), torch.ones(3, 20), atol=1e-6, rtol=0)
    torch.testing.assert_close(sa(x, torch.Generator().manual_seed(0))[0], slots)
    assert not torch.allclose(sa(x, torch.Generator().manual_seed(1))[0], slots)
    # with a shared draw every batch row starts from the same slots: identical inputs give identical slots
    shared, _ = sa(x[:1].expand(3, -1, -1), torch.Generator().manual_seed(0), shared_noise=True)
    torch.testing.assert_close(shared[0], shared[2])


def test_checkpoint_round_trip(trained, tmp_path):
    path = save_slot_autoencoder(trained, tmp_path / "slots.pt")
    loaded = load_slot_autoencoder(path)
    assert loaded.config == trained.config and not loaded.training
    tokens = object_scenes(6, seed=3).reshape(3, 2, H, W, D)
    for a, b in zip(encode_slots(trained, tokens), encode_slots(loaded, tokens)):
        assert torch.equal(a, b)
    # the standardisation statistics travel with the weights
    assert torch.equal(loaded.token_mean, trained.token_mean) and torch.equal(loaded.token_std, trained.token_std)
