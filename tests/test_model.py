"""Model invariants on the tiny preset: shapes, quantiser, regulariser, overfit, save/load, cache."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from musER.batching import collate
from musER.checkpoint import load_checkpoint, save_checkpoint
from musER.config import preset
from musER.elements import ELEMENTS
from musER.errors import CheckpointError, ConfigError
from musER.model.factory import build_prior, build_vqvae
from musER.model.fused_heads import FusedElementHeads
from musER.model.layers import fuse_self_attention
from musER.model.quantizer import EMAQuantizer
from musER.model.regularizer import pairwise_sign_loss
from musER.model.vqvae import element_loss, emotion_weights
from musER.testing import synthetic_piece
from musER.tokenizer import encode_notes
from musER.vocab import Vocab

VOCAB = Vocab.default()


def tiny_models(seed: int = 0):
    torch.manual_seed(seed)
    vq_cfg, prior_cfg = preset("tiny")
    return build_vqvae(vq_cfg, VOCAB), build_prior(prior_cfg, vq_cfg, VOCAB)


def synthetic_batch(n: int = 3):
    clips = [encode_notes(synthetic_piece(i).notes, VOCAB, emotion=f"Q{i % 4 + 1}").ids for i in range(n)]
    ids, lengths = collate(clips)
    return ids, lengths, torch.tensor([i % 4 + 1 for i in range(n)])


def test_forward_shapes_and_finite_losses():
    vqvae, _ = tiny_models()
    ids, lengths, q = synthetic_batch()
    logits, losses = vqvae(ids, lengths, emotion_weights(q))
    for e in ELEMENTS:
        assert logits[e].shape == (ids.shape[0], ids.shape[1] - 1, VOCAB.size(e))
    assert torch.isfinite(losses.total) and losses.regularization > 0


def test_balanced_loss_weighs_the_few_steps_where_an_element_applies_as_much_as_the_rest():
    # 1 applying step (id 2) among 9 "does not apply" steps (id 0)
    target = torch.tensor([2] + [0] * 9)
    right = torch.full((10, 4), -5.0)
    right[torch.arange(10), target] = 5.0
    wrong_rare = right.clone()
    wrong_rare[0] = torch.tensor([-5.0, -5.0, -5.0, 5.0])  # only the applying step is wrong
    plain = element_loss(wrong_rare, target, balanced=False)
    balanced = element_loss(wrong_rare, target, balanced=True)
    per_step = F.cross_entropy(wrong_rare, target, reduction="none")
    assert torch.isclose(plain, per_step.mean())
    assert torch.isclose(balanced, (per_step[0] + per_step[1:].mean()) / 2)
    assert balanced > 4 * plain
    # an element that applies everywhere (type) gets the plain mean
    everywhere = torch.tensor([1, 2, 3, 1])
    logits = torch.randn(4, 4)
    assert torch.isclose(element_loss(logits, everywhere, True), F.cross_entropy(logits, everywhere))


def test_without_the_regulariser_the_dr_network_learns_but_does_not_shape_the_latent():
    torch.manual_seed(0)
    vq_cfg, _ = preset("tiny")
    vqvae = build_vqvae(replace(vq_cfg, use_regularizer=False), VOCAB)
    ids, lengths, q = synthetic_batch()
    _, losses = vqvae(ids, lengths, emotion_weights(q))
    assert losses.regularization > 0
    losses.regularization.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vqvae.regularizer.parameters())
    assert all(p.grad is None for p in vqvae.encoder.parameters())


def test_padding_does_not_change_the_outputs_of_real_steps():
    vqvae, _ = tiny_models()
    vqvae.eval()
    ids, lengths, q = synthetic_batch(1)
    padded = torch.cat([ids, torch.zeros(1, 7, ids.shape[2], dtype=ids.dtype)], dim=1)
    a, _ = vqvae(ids, lengths, emotion_weights(q))
    b, _ = vqvae(padded, lengths, emotion_weights(q))
    for e in ELEMENTS:
        assert torch.allclose(a[e], b[e][:, : a[e].shape[1]], atol=1e-5)


def test_quantiser_eval_output_equals_lookup_and_ema_only_trains():
    quant = EMAQuantizer(dim=32, groups=2, size=8, decay=0.9, dead_threshold=0.1)
    z = torch.randn(2, 5, 32)
    valid = torch.ones(2, 5, dtype=torch.bool)
    quant.train()
    quant(z, valid)  # initialises from data
    before = quant.embed.clone()
    quant.eval()
    out = quant(z, valid)
    assert torch.equal(quant.embed, before)
    assert torch.allclose(out.z_q, quant.lookup(out.codes))
    quant.train()
    quant(z + 1.0, valid)
    assert not torch.equal(quant.embed, before)


def test_dead_codes_are_restarted_on_encoder_outputs():
    quant = EMAQuantizer(dim=4, groups=1, size=16, decay=0.5, dead_threshold=0.5)
    quant.train()
    z = torch.full((1, 20, 4), 3.0) + 0.01 * torch.randn(1, 20, 4)
    valid = torch.ones(1, 20, dtype=torch.bool)
    for _ in range(6):
        quant(z, valid)
    # every code either is used or was moved next to the data
    assert torch.all((quant.embed - 3.0).abs() < 0.5)


def test_quantiser_buffers_survive_a_state_dict_round_trip():
    a = EMAQuantizer(dim=8, groups=2, size=4, decay=0.9, dead_threshold=0.1)
    a.train()
    a(torch.randn(1, 6, 8), torch.ones(1, 6, dtype=torch.bool))
    b = EMAQuantizer(dim=8, groups=2, size=4, decay=0.9, dead_threshold=0.1)
    b.load_state_dict(a.state_dict())
    for name in ("embed", "cluster_size", "embed_sum", "initialised"):
        assert torch.equal(getattr(a, name), getattr(b, name))


def test_regulariser_on_hand_made_cases():
    values = torch.tensor([[1, 2]]).T  # two pieces, one step: a = 1 and 2
    ordered = torch.ones(2, 1, dtype=torch.bool)
    right = pairwise_sign_loss(torch.tensor([[0.0], [1.0]]), values, ordered)
    wrong = pairwise_sign_loss(torch.tensor([[1.0], [0.0]]), values, ordered)
    assert right.item() == pytest.approx(1 - np.tanh(1.0), abs=1e-6)
    assert wrong.item() == pytest.approx(1 + np.tanh(1.0), abs=1e-6)
    equal = pairwise_sign_loss(torch.tensor([[0.3], [0.3]]), torch.tensor([[5], [5]]), ordered)
    assert equal.item() == pytest.approx(0.0)
    none = pairwise_sign_loss(torch.tensor([[0.0], [1.0]]), values, torch.zeros(2, 1, dtype=torch.bool))
    assert none.item() == 0.0


def test_tiny_model_overfits_a_few_clips():
    vqvae, _ = tiny_models()
    ids, lengths, q = synthetic_batch(2)
    opt = torch.optim.Adam(vqvae.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        _, losses = vqvae(ids, lengths, emotion_weights(q))
        opt.zero_grad()
        losses.total.backward()
        opt.step()
        first = first if first is not None else losses.reconstruction.item()
    assert losses.reconstruction.item() < 0.5 * first


def test_prior_overfits_a_code_sequence():
    _, prior = tiny_models()
    codes = torch.randint(0, prior.size, (2, 12, prior.groups))
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = prior(codes, torch.tensor([12, 9]), emotion_weights(torch.tensor([1, 3])))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def token_reading_prior(seed: int = 0):
    torch.manual_seed(seed)
    vq_cfg, prior_cfg = preset("tiny")
    return build_prior(replace(prior_cfg, reads_tokens=True), vq_cfg, VOCAB)


def test_a_prior_that_reads_tokens_sees_only_earlier_ones_and_caches_the_same_numbers():
    prior = token_reading_prior()
    assert not prior.token_embed.proj.weight.any()  # reads nothing until trained
    torch.nn.init.normal_(prior.token_embed.proj.weight, std=0.1)
    ids, _, q = synthetic_batch(2)
    tokens = ids[:, 1:13]
    codes = torch.randint(0, prior.size, (2, 12, prior.groups))
    emotion = emotion_weights(q)
    prior.eval()
    full = prior.states(codes, emotion, tokens=tokens)
    other = tokens.clone()
    other[:, 5, 4] = (other[:, 5, 4] + 1) % VOCAB.size("pitch")  # another pitch at step 5
    moved = prior.states(codes, emotion, tokens=other)
    assert torch.equal(moved[:, :6], full[:, :6]) and not torch.allclose(moved[:, 6], full[:, 6])
    pc = prior.new_caches()
    steps = [prior.states(codes[:, :1], emotion, 0, pc, tokens=tokens[:, :1])]
    steps += [prior.states(codes[:, t - 1: t], emotion, t, pc, tokens=tokens[:, t - 1: t]) for t in range(1, 12)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    with pytest.raises(ValueError, match="reads the decoded tokens"):
        prior.states(codes, emotion)


def test_checkpoint_save_then_load_gives_identical_outputs(tmp_path):
    vqvae, prior = tiny_models()
    vqvae.eval(), prior.eval()
    folder = save_checkpoint(tmp_path / "ck", vqvae, prior, VOCAB, 128, {"reference_map": {}})
    vq2, prior2, vocab2, meta = load_checkpoint(folder, torch.device("cpu"))
    ids, _, q = synthetic_batch(2)
    x = ids[:, 1:]
    valid = torch.ones(x.shape[:2], dtype=torch.bool)
    _, qa = vqvae.encode(x, valid)
    _, qb = vq2.encode(x, valid)
    assert torch.equal(qa.codes, qb.codes)
    la = vqvae.decode_logits(x, qa.z_q, emotion_weights(q))
    lb = vq2.decode_logits(x, qb.z_q, emotion_weights(q))
    assert all(torch.equal(la[e], lb[e]) for e in ELEMENTS)
    codes = qa.codes
    assert torch.equal(prior.states(codes, emotion_weights(q)), prior2.states(codes, emotion_weights(q)))
    assert vocab2.hash() == VOCAB.hash() and meta["window"] == 128
    assert not any(k.startswith("vqvae.regularizer") for k in _keys(folder))


def _keys(folder):
    from safetensors import safe_open

    with safe_open(str(folder / "weights.safetensors"), "pt") as fh:
        return list(fh.keys())


def test_damaged_or_mismatched_checkpoints_give_clear_errors(tmp_path, tiny_ckpt):
    import shutil

    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing", torch.device("cpu"))
    broken = tmp_path / "broken"
    shutil.copytree(tiny_ckpt, broken)
    weights = broken / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(broken, torch.device("cpu"))
    future = tmp_path / "future"
    shutil.copytree(tiny_ckpt, future)
    meta = json.loads((future / "meta.json").read_text())
    meta["format_version"] = 99
    (future / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(future, torch.device("cpu"))
    other = tmp_path / "other"
    shutil.copytree(tiny_ckpt, other)
    meta = json.loads((other / "meta.json").read_text())
    meta["vqvae_config"]["d_decoder"] = 64
    (other / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(other, torch.device("cpu"))


def test_kv_cache_gives_the_same_logits_as_a_full_pass():
    vqvae, prior = tiny_models(1)
    vqvae.eval(), prior.eval()
    ids, _, q = synthetic_batch(1)
    x = ids[:, 1:20]
    emotion = emotion_weights(q)
    _, qz = vqvae.encode(x, torch.ones(x.shape[:2], dtype=torch.bool))
    full = vqvae.decode_logits(x, qz.z_q, emotion)
    dec = vqvae.decoder
    caches = dec.new_caches()
    steps = []
    for t in range(x.shape[1]):
        h = dec.emotion(emotion)[:, None] if t == 0 else dec.embed(x[:, t - 1: t])
        h = h + dec.pos(torch.tensor([t]))
        g = dec.global_states(h, qz.z_q[:, t: t + 1], caches["global"])
        steps.append(dec.element_logits("pitch", g, qz.z_q[:, t: t + 1], x[:, t: t + 1, 3], caches))
    assert torch.allclose(torch.cat(steps, 1), full["pitch"], atol=1e-5)
    # the prior, too
    codes = qz.codes
    full_h = prior.states(codes, emotion)
    pc = prior.new_caches()
    step_h = [prior.states(codes[:, :1], emotion, 0, pc)]
    step_h.extend(prior.states(codes[:, t - 1: t], emotion, t, pc) for t in range(1, codes.shape[1]))
    assert torch.allclose(torch.cat(step_h, 1), full_h, atol=1e-5)


def test_fused_self_attention_gives_the_same_numbers_with_the_cache():
    vqvae, prior = tiny_models(4)
    vqvae.eval(), prior.eval()
    ids, _, q = synthetic_batch(2)
    codes = torch.randint(0, prior.size, (2, 12, prior.groups))
    emotion = emotion_weights(q)
    x = ids[:, 1:13]
    z = torch.randn(2, 12, 112)
    before = prior.states(codes, emotion), vqvae.decoder.global_states(vqvae.decoder.inputs(x, emotion), z)
    fuse_self_attention(prior.blocks, vqvae.decoder.blocks)
    assert prior.blocks[0].attn.qkv is not None and not hasattr(prior.blocks[0].attn, "q")
    assert torch.equal(prior.states(codes, emotion), before[0])
    assert torch.equal(vqvae.decoder.global_states(vqvae.decoder.inputs(x, emotion), z), before[1])
    pc = prior.new_caches()
    steps = [prior.states(codes[:, :1], emotion, 0, pc)]
    steps += [prior.states(codes[:, t - 1: t], emotion, t, pc) for t in range(1, 12)]
    assert torch.allclose(torch.cat(steps, 1), before[0], atol=1e-5)


def test_fused_element_heads_give_the_element_decoders_logits():
    vqvae, _ = tiny_models(2)
    vqvae.eval()
    for p in vqvae.parameters():  # trained-looking weights, not the init's zero biases
        p.data.add_(0.1 * torch.randn_like(p))
    dec = vqvae.decoder
    fused = FusedElementHeads.of(dec)
    g, z = torch.randn(5, 1, vqvae.cfg.d_decoder), torch.randn(5, 1, 112)
    type_ids = torch.tensor([1, 2, 3, 2, 3])
    with torch.no_grad():
        x = fused.inputs(g[:, 0], z[:, 0])
        assert torch.allclose(fused.type_logits(x), dec.element_logits("type", g, z, None)[:, 0], atol=1e-5)
        others = fused.other_logits(x, type_ids)
        for e in ELEMENTS:
            if e != "type":
                assert torch.allclose(others[e], dec.element_logits(e, g, z, type_ids[:, None])[:, 0], atol=1e-5)
    # element decoders with attention layers keep the module path
    vq_cfg, _ = preset("tiny")
    assert FusedElementHeads.of(build_vqvae(replace(vq_cfg, element_layers=1), VOCAB).decoder) is None


def test_configs_validate_and_round_trip():
    vq_cfg, _ = preset("paper")
    assert type(vq_cfg).from_dict(vq_cfg.to_dict()) == vq_cfg
    with pytest.raises(ConfigError, match="codebook"):
        type(vq_cfg).from_dict({**vq_cfg.to_dict(), "codebook": "many"})
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("huge")


def test_a_checkpoint_that_cannot_be_written_leaves_the_old_one_and_no_temp_folder(tiny_ckpt, tmp_path, monkeypatch):
    import errno
    import shutil

    from musER.errors import MusERError

    folder = tmp_path / "model"
    shutil.copytree(tiny_ckpt, folder)
    before = sorted(p.name for p in folder.iterdir())
    vqvae, prior, vocab, meta = load_checkpoint(folder, torch.device("cpu"))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", full_disk)
    with pytest.raises(MusERError, match="No space left on device"):
        save_checkpoint(folder, vqvae, prior, vocab, meta["window"], {})
    assert sorted(p.name for p in folder.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
