import torch

import vocab
from coconut import logit_lens, run_coconut
from conftest import random_model
from tokenizer import WordTokenizer

EOT = vocab.TOKENS.index(vocab.EOT)
EOS = 0
BOT = vocab.TOKENS.index(vocab.BOT)


def _prompt():
    tok = WordTokenizer.default()
    return tok.encode("Every wumpus is a rempus. Tom is a wumpus. Is Tom a rempus or bompus?\n") + [BOT]


class Recorder:
    """Wraps GPT.forward to record what each pass was fed."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self._forward = model.forward

    def __call__(self, inputs_embeds, position_ids, attention_mask=None, past_key_values=None,
                 output_hidden_states=False):
        self.calls.append((inputs_embeds.clone(), position_ids.clone(), attention_mask.clone()))
        out = self._forward(inputs_embeds, position_ids, attention_mask, past_key_values,
                            output_hidden_states)
        self.calls[-1] += (out,)
        return out


def test_thoughts_are_last_hidden_state_fed_back():
    m = random_model(seed=7)
    rec = Recorder(m)
    m.forward = rec
    ids = _prompt()
    run = run_coconut(m, ids, k=4, eot_id=EOT, eos_id=EOS, max_new_tokens=5)
    assert len(run.thoughts) == 4 and [t.index for t in run.thoughts] == [1, 2, 3, 4]
    # Pass 0 is the prefill, passes 1..k feed the thoughts, pass k+1 feeds eot.
    assert rec.calls[0][0].shape[1] == len(ids)
    for i, t in enumerate(run.thoughts, start=1):
        fed, pos, mask, _ = rec.calls[i]
        assert fed.shape == (1, 1, m.config.n_embd)
        assert torch.equal(fed[0, 0], t.vector), f"thought {i} is not what was fed at latent {i}"
        assert pos.tolist() == [[len(ids) + i - 1]] and mask.shape[1] == len(ids) + i
        # The thought is the final-norm output of the previous pass (not the raw residual stream).
        prev = rec.calls[i - 1][3]
        assert torch.allclose(t.vector, m.ln_f(prev.hidden_states[-1][0, -1]), atol=1e-6)
        assert not torch.allclose(t.vector, prev.hidden_states[-1][0, -1], atol=1e-3)
        assert torch.equal(t.logits, prev.logits[0, -1])
    eot_fed = rec.calls[5][0]
    assert torch.equal(eot_fed[0, 0], m.wte.weight[EOT])
    assert len(rec.calls) == 1 + 4 + 1 + (len(run.answer_ids) - 1)


def test_loop_matches_one_full_forward():
    m = random_model(seed=8)
    ids = _prompt()
    run = run_coconut(m, ids, k=3, eot_id=EOT, eos_id=EOS, max_new_tokens=6)
    # Rebuild the whole sequence and run it without a cache.
    seq = [m.embed(torch.tensor([ids]))[0]] + [t.vector.view(1, -1) for t in run.thoughts] + \
          [m.embed(torch.tensor([[EOT] + run.answer_ids[:-1]]))[0]]
    x = torch.cat(seq, 0).unsqueeze(0)
    with torch.no_grad():
        full = m(x, torch.arange(x.shape[1]).unsqueeze(0), output_hidden_states=True)
    n = len(ids)
    for j, t in enumerate(run.thoughts):
        assert (full.logits[0, n - 1 + j] - t.logits).abs().max() < 1e-4
    for i, lg in enumerate(run.answer_logits):
        assert (full.logits[0, n + 3 + i] - lg).abs().max() < 1e-4
        assert run.answer_ids[i] == int(lg.argmax())


def test_lens_and_stopping():
    m = random_model(seed=9)
    run = run_coconut(m, _prompt(), k=2, eot_id=EOT, eos_id=EOS, max_new_tokens=4)
    for t in run.thoughts:
        assert t.lens.shape == (m.config.n_layer, m.config.vocab_size)
        assert torch.allclose(t.lens.sum(-1), torch.ones(m.config.n_layer), atol=1e-5)
        # The last layer of the lens is the model's own next-token distribution.
        assert torch.allclose(t.lens[-1], torch.softmax(t.logits, -1), atol=1e-5)
    assert run.stopped_by == "max_new_tokens" and len(run.answer_ids) == 4
    # Force eos: a constant final norm output that the eos row of the tied head dominates.
    with torch.no_grad():
        u = torch.nn.functional.normalize(torch.randn(m.config.n_embd), dim=0)
        m.ln_f.weight.zero_()
        m.ln_f.bias.copy_(u)
        m.wte.weight[EOS] = 100 * u
    forced = run_coconut(m, _prompt(), k=0, eot_id=EOT, eos_id=EOS, max_new_tokens=4)
    assert forced.thoughts == [] and forced.answer_ids == [EOS] and forced.stopped_by == "eos"


def test_logit_lens_function():
    m = random_model(seed=10)
    hs = [torch.randn(m.config.n_embd) for _ in range(m.config.n_layer + 1)]
    lens = logit_lens(m, hs)
    want = torch.softmax(m.ln_f(hs[1]) @ m.wte.weight.t(), -1)
    assert torch.allclose(lens[0], want, atol=1e-6)
