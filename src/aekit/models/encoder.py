"""The contract every encoder follows: f(x) = head(body(x)), a feature body and a code head.

The body maps x (B, *sample_shape) to features a (B, m); the head maps them to the code,
h = s_h(W a + b) (B, k). The two are separate attributes so a variational Gaussian head (Kingma &
Welling, ICLR 2014; :mod:`aekit.models.gaussian`) can replace the head alone, and so penalties can
read the code's pre-activation. Each kind in :mod:`aekit.models.encoders` builds its body and
decoder and ends on this head.
"""

from __future__ import annotations

from torch import Tensor, nn

from aekit.registry import get


def in_layout(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``t`` reshaped to ``shape``, or ``t`` itself when it has that shape already: a same-shape reshape
    would add a view and its autograd node to every training step."""
    return t if t.shape == shape else t.reshape(shape)


class CodeHead(nn.Module):
    """h = s_h(W a + b): the last encoder layer, from features a (B, m) to the code h (B, k)."""

    def __init__(self, in_features: int, code_size: int, activation: str) -> None:
        super().__init__()
        self.activation = activation  # the registered name; get("activation", ...) has s_h'
        self.linear = nn.Linear(in_features, code_size)
        self.act = get("activation", activation).module()

    def pre(self, a: Tensor) -> Tensor:
        """The code pre-activation W a + b, (B, m) -> (B, k)."""
        return self.linear(a)

    def forward(self, a: Tensor) -> Tensor:
        if type(self.act) is nn.Identity:  # a linear code (the default): h = W a + b, one module call less
            return self.linear(a)  # (B, m) -> (B, k)
        return self.act(self.linear(a))  # (B, m) -> (B, k)


class Encoder(nn.Module):
    """f(x) = head(body(x)): ``body`` maps x to features (B, m), ``head`` maps them to the code."""

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (B, *sample_shape) -> (B, m) -> (B, k)

    def affine_layers(self) -> list[tuple[nn.Linear, str]] | None:
        """The encoder as a stack of affine maps, each followed by an elementwise activation.

        ``[(linear_1, activation name), ..., (linear_L, code activation name)]`` from input to code,
        so that f(x) = s_L(W_L ... s_1(W_1 flatten(x) + b_1) ... + b_L); None when the encoder is not
        such a stack (a convolutional body, a Gaussian head). The contractive penalty reads it to
        build the Jacobian J = D_L W_L ... D_1 W_1 layer by layer (``aekit.objectives.contractive``).
        """
        body_layers = getattr(self.body, "affine_layers", None)
        if body_layers is None or type(self.head) is not CodeHead:
            return None
        return [*body_layers(), (self.head.linear, self.head.activation)]
