"""The glossary: every term the app uses, in one or two plain sentences, and links to it.

``TERMS`` maps a term id (a slug, the ``?term=`` value of the Glossary page) to its display
name and text; the texts agree with ``texts`` (PAPER.md §3 conventions). ``link`` and ``see``
make markdown links that work in ``st.markdown`` and in any ``help=`` tooltip (Streamlit
renders tooltips as markdown). No streamlit import here, so ``texts`` can use it.

The URL is relative without a leading slash (``Glossary?term=b-z``): every page of the app
sits one level under the app's root (``/Data``, ``/Train``), so the link resolves to the
Glossary page behind any host and under any ``server.baseUrlPath``; ``/Glossary`` would
drop a base path. Links open in a new tab (Streamlit's markdown does that), so the page the
user came from keeps its state.
"""

from __future__ import annotations

from typing import NamedTuple

PAGE = "Glossary"  # url_path of the Glossary page (app.py registers it)
PARAM = "term"  # the query parameter naming the entry to show first


class Term(NamedTuple):
    name: str  # as shown on the page
    text: str  # one or two plain sentences

    @property
    def short(self) -> str:
        """The name without its parenthesis: a link's label in a help text."""
        return self.name.split(" (")[0]


_T = Term
TERMS: dict[str, Term] = {
    # ------------------------------------------------------------ identifiability
    "identifiability": _T(
        "Near-identifiability",
        "A representation is ε-near-identifiable up to a group of maps H when, for any two "
        "trainings, some map h in H brings one within ε of the other (or of the ground "
        "truth). A smaller group and a smaller ε make a stronger statement."),
    "statistical": _T(
        "Statistical identifiability",
        "Two models trained with different seeds agree up to a map h: the same every time, "
        "up to h. nearid measures it by aligning every seed pair of one configuration."),
    "structural": _T(
        "Structural identifiability",
        "Every trained model matches the ground-truth factors u up to a map h: right every "
        "time, up to h. Isometric data keep the same units, so no scaling is needed."),
    "disentanglement": _T(
        "Disentanglement",
        "Each ground-truth factor is carried by one latent axis alone, and each axis by one "
        "factor: structural identifiability up to a signed permutation. MCC, InfoMEC and DCI "
        "score it."),
    "seed-pair": _T(
        "Seed pair",
        "Two models of a sweep with the same settings and leak but different seeds. The "
        "statistical view aligns every such pair, so it needs two or more seeds per leak."),
    "seed": _T(
        "Seed",
        "The number that fixes a model's random start and the order of its data, so the "
        "same settings with the same seed give the same numbers. A sweep's master seed sets "
        "every model's seed (master seed × 1000 + seed index) and, unless given its own, the "
        "data seed."),
    # ------------------------------------------------------------ data and model
    "factors": _T(
        "Ground-truth factors u",
        "The hidden, independent variables that generated the data (d_u of them). Structural "
        "identifiability and the disentanglement scores compare a model's latents with them."),
    "data-process": _T(
        "Data-generating process",
        "The map x = g(u) from factors u to observations x, plus optional Gaussian noise. "
        "rolled rolls the factors onto circular arcs (exactly isometric), linear is x = Q u, "
        "square draws a white square at position u (nearly isometric), and mlp is a "
        "non-isometric control."),
    "gaussian": _T(
        "Gaussian and non-Gaussian factors",
        "ICA can undo a rotation only when the factors are non-Gaussian (uniform, Laplace): a "
        "rotated cloud of independent Gaussians looks exactly like the original. Gaussian "
        "factors are the classic case that ICA cannot resolve."),
    "autoencoder": _T(
        "Autoencoder",
        "A network trained to reproduce its input: the encoder f maps x to a short latent z, "
        "and the decoder g maps z back to x. nearid's has two hidden layers of width w on "
        "each side (x → w → w → z → w → w → x)."),
    "latent": _T(
        "Latents z (representation, embedding)",
        "The encoder's output z = f(x) for an input x: the learned representation whose "
        "identifiability is measured. On the Compare page any uploaded embedding (one row "
        "per input) plays this role."),
    "training": _T(
        "Training (epochs, batch size, learning rate)",
        "Adam fits the autoencoder's weights to minimise the mean squared reconstruction "
        "error. One epoch is one pass over the training samples, taken a batch at a time, "
        "with steps scaled by the learning rate."),
    "held-out": _T(
        "Held-out points (fit/eval split)",
        "Samples kept out of training, on which every measurement is made. Maps, ICA and "
        "matchings are fitted on one half of them and scored on the other half, so a score "
        "never grades its own fit."),
    "reconstruction-error": _T(
        "Reconstruction error",
        "The mean squared difference per coordinate between a held-out input x and its "
        "reconstruction g(f(x)). It improves as the leak grows towards 1, yet poor "
        "reconstruction does not prevent identifiability."),
    "leak": _T(
        "Leak α",
        "Every hidden activation is a LeakyReLU with negative slope 1 − α, so α = 0 is the "
        "identity (a linear network) and α = 1 is ReLU. Some summaries of the paper call the "
        "slope itself α; nearid does not."),
    "decoder": _T(
        "Decoder constraint (orthogonal or free)",
        "orthogonal: weights with orthonormal columns (so d_z ≤ width ≤ d_x), which makes "
        "B(z) ≤ (1−α)^−2. free: ordinary weights with weight decay, whose B(z) is only "
        "measured."),
    "sweep": _T(
        "Sweep",
        "A grid of autoencoders, one per leak × seed, trained on the same data with the same "
        "settings and then analysed together. A preset is a ready-made sweep, such as the "
        "paper's warm-up."),
    "warm-up": _T(
        "The paper's warm-up",
        "Small autoencoders on isometric data, over a grid of leaks and seeds: the paper's "
        "Figures 1, 2 and A.3–A.5. B(z) tightens around 1 as α → 0, the error falls with "
        "L, and reconstruction improves as α → 1."),
    "run-store": _T(
        "Run store",
        "The folder named by NEARID_HOME (default .nearid) that keeps every sweep, model, "
        "number and saved comparison, across restarts. A read-only store can be browsed and "
        "exported but not trained into."),
    # ------------------------------------------------------------ bi-Lipschitz
    "jacobian": _T(
        "Jacobian and singular values",
        "The decoder Jacobian J = ∂g/∂z (d_x × d_z) says how each output moves when a latent "
        "moves a little. Its singular values σ₁ ≥ … ≥ σ_d are the most and the least that J "
        "stretches any direction."),
    "isometry": _T(
        "Isometry",
        "A map that keeps every distance: all singular values of its Jacobian equal 1. A "
        "local isometry does so near one point, where B(z) = 1."),
    "bi-lipschitz": _T(
        "Bi-Lipschitz",
        "A map is (1 + L)-bi-Lipschitz when it stretches no distance by more than 1 + L and "
        "shrinks none by more than 1/(1 + L). L = 0 is an isometry, and Theorem 1 asks for "
        "a decoder with small L."),
    "b-z": _T(
        "B(z)",
        "B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian at the latent z of a held-out input: "
        "the local bi-Lipschitz constant there. It is at least 1, and exactly 1 when the "
        "decoder is a local isometry at z."),
    "l": _T(
        "L (L_max, L_mean)",
        "How far a decoder is from an isometry: L_max = max B(z) − 1 and L_mean = mean "
        "B(z) − 1 over one model's held-out points. Per leak, they are summarised over the "
        "seeds by their max or their mean."),
    "leak-bound": _T(
        "Leak bound (1−α)^−K",
        "With orthogonal decoder weights every singular value of the Jacobian lies in "
        "[(1−α)^K, 1] for K = 2 hidden activations, so B(z) ≤ (1−α)^−K. The leak thus "
        "controls L exactly; for α = 1 (ReLU) the bound is infinite."),
    "estimated": _T(
        "Estimated, not certified",
        "B(z) comes from the Jacobian at sampled points, so a larger value elsewhere can be "
        "missed. Theorem 1's absolute ε is not computable (its constant c_D is unknown), "
        "only its proportionality."),
    # ------------------------------------------------------------ alignment
    "alignment-group": _T(
        "Alignment group",
        "The family of maps h allowed when lining one representation up with another, from "
        "large to small: linear ⊃ rigid ⊃ signed permutation. A smaller group means a "
        "stronger statement."),
    "signed-permutation": _T(
        "Signed permutation",
        "Reordering the axes and flipping their signs (after centring): the smallest group, "
        "which always remains. nearid finds it by Hungarian matching on |correlation|, with "
        "signs from the correlation."),
    "rigid": _T(
        "Rigid map (orthogonal Procrustes)",
        "A rotation or reflection plus a translation, with no scaling, so it keeps every "
        "distance. nearid fits it by orthogonal Procrustes, the best such map in least "
        "squares."),
    "affine": _T(
        "Linear map (affine)",
        "Any invertible matrix plus a translation, fitted by least squares: the largest "
        "alignment group. It may stretch and shear, so a small linear error is the weakest "
        "statement."),
    "hungarian": _T(
        "Hungarian matching",
        "An algorithm that pairs rows with columns of a score matrix one-to-one so that the "
        "total score is best. nearid uses it to match axes by |correlation| for signed "
        "permutations and MCC."),
    "alignment-error": _T(
        "ℓ2 alignment error",
        "Fit the map h on half of the held-out points, then report the mean ‖A − h(B)‖ on "
        "the other half divided by the diameter of A (its largest pairwise distance). 0 "
        "means identical up to h."),
    "ica": _T(
        "ICA (independent component analysis)",
        "Finds the rotation of whitened data whose axes are as independent (as non-Gaussian) "
        "as possible; nearid uses FastICA with unit-variance whitening and a fixed seed. Run "
        "on each representation separately and then matched by a signed permutation, it "
        "needs no labels."),
    "whitening": _T(
        "Whitening",
        "Centring and linearly transforming data so that every direction has unit variance "
        "and no two are correlated. After whitening only a rotation is left unknown, and "
        "ICA chooses it."),
    "amari": _T(
        "Amari distance (ICA restarts)",
        "A distance between two ICA unmixing matrices that is 0 when they differ only by a "
        "signed permutation. nearid runs FastICA from several seeded starts, keeps the best "
        "contrast, and says when restarts end far apart."),
    "ica-efficiency": _T(
        "ICA efficiency",
        "(perm − ICA) / (perm − rigid): the share of the gap between the best raw-axis "
        "alignment and the best supervised rigid alignment that unsupervised ICA closes. "
        "Above 100% means ICA beat the rigid fit; n/a when the gap is too small to mean "
        "anything."),
    # ------------------------------------------------------------ theorems and fits
    "theorem-1": _T(
        "Theorem 1 (near-isometric decoders)",
        "If the end-to-end map is identifiable and the decoder is locally "
        "(1 + L)-bi-Lipschitz, two trainings agree up to a rigid map with error at most "
        "c_D·√(2L + L²)·Δ. Smaller L means a smaller error, in proportion to √(2L + L²)."),
    "theorem-1-fit": _T(
        "Theorem-1 fit (c)",
        "A least-squares fit of error ≈ c·√(2L + L²) through the origin over the leaks, "
        "because the theorem's constant is unknown. Its R² says how well that shape "
        "explains the errors."),
    "r2": _T(
        "R²",
        "The share of the variation of the errors that a fitted curve explains: 1 = all of "
        "it, 0 = no better than their mean, below 0 = worse than that."),
    "bootstrap": _T(
        "Bootstrap interval",
        "A range for a fitted number found by refitting it many times on resampled data "
        "(seed pairs within each leak, or re-drawn fit/eval splits) with a fixed seed. It "
        "shows how much the number moves with the sample, not a guarantee."),
    "theorem-2": _T(
        "Theorem 2 (ICA)",
        "If a representation is near-identifiable up to a linear map with error ε, "
        "whitening and ICA make it near-identifiable up to a signed permutation with error "
        "Kε + K'ε². ICA removes most of the remaining rotation."),
    "theorem-3": _T(
        "Theorem 3 (structural)",
        "If independent non-Gaussian factors make the data through a near-isometric "
        "generator and the autoencoder reconstructs perfectly, its encoder recovers the "
        "factors up to a rigid map, and after ICA up to a signed permutation. Hence the "
        "recipe: train a plain autoencoder, then run ICA on its latents."),
    # ------------------------------------------------------------ disentanglement metrics
    "mcc": _T(
        "MCC (mean correlation coefficient)",
        "The mean |correlation| of latents and factors matched one-to-one (Hungarian), "
        "matched on one half of the points and scored on the other. 1 means each factor is "
        "an affine function of one latent."),
    "infomec": _T(
        "InfoMEC",
        "Three disentanglement scores (InfoM, InfoE, InfoC) built from the mutual "
        "information between latents and binned factors, from Hsu and co-authors (2023). "
        "Each lies between 0 and 1, and 1 is best."),
    "infom": _T(
        "InfoM (modularity)",
        "Whether each latent informs about one factor only: how much each active latent's "
        "largest normalised mutual information stands out from its total over factors. 1 = "
        "every latent carries a single factor."),
    "infoc": _T(
        "InfoC (compactness)",
        "Whether each factor lives in one latent only: InfoM with the roles of latents and "
        "factors swapped, over the active latents. 1 = every factor sits in a single "
        "latent."),
    "infoe": _T(
        "InfoE (explicitness)",
        "How well all latents together predict each factor: the relative drop in log-loss "
        "of a logistic regression that predicts the factor's bin from the latents, against "
        "knowing nothing. ICA cannot change it, since an invertible linear map of the "
        "latents carries the same information."),
    "mutual-information": _T(
        "Normalised mutual information",
        "I(z_j; v_i) / H(v_i): the share of the uncertainty about the binned factor v_i that "
        "latent z_j removes, estimated from nearest neighbours. 0 = unrelated, 1 = z_j fixes "
        "the factor's bin."),
    "dci": _T(
        "DCI (disentanglement, completeness, informativeness)",
        "Scores from Lasso regressions that predict each factor from the latents: D = each "
        "latent matters for one factor, C = each factor relies on one latent, I = how well "
        "the factors are predicted. Lasso importances are fast and suit continuous factors."),
    # ------------------------------------------------------------ pictures and comparisons
    "pca": _T(
        "PCA (principal components)",
        "The orthogonal directions of largest variance of a cloud of points, ordered by the "
        "variance they explain. The app draws 3-D views along them, and the Compare page "
        "runs ICA on each embedding's top components."),
    "umap": _T(
        "UMAP",
        "A non-linear 2-D picture of high-dimensional points that keeps neighbours close. "
        "It is a picture, not a measurement: it distorts distances."),
    "cka": _T(
        "CKA (linear centred kernel alignment)",
        "A similarity of two representations of the same inputs that is 1 when they are the "
        "same up to rotation and isotropic scaling. No map is fitted, so it complements the "
        "alignment errors."),
    "procrustes-angle": _T(
        "Angular Procrustes distance",
        "The angle between two representations after the best rotation, scaling and "
        "translation: 0 = the same shape, π/2 = unrelated. Like CKA it uses all rows and "
        "fits nothing on a split."),
}

# Other spellings a link may use (column names, the paper's words); the page resolves them.
ALIASES = {"procrustes": "rigid", "linear": "affine", "perm": "signed-permutation",
           "permutation": "signed-permutation", "fastica": "ica", "bilipschitz": "bi-lipschitz",
           "b": "b-z", "l-max": "l", "l-mean": "l", "l_max": "l", "l_mean": "l"}


def resolve(term_id: str) -> str | None:
    """The term id that ``term_id`` (an id or an alias, any case) names; None if none."""
    key = term_id.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in TERMS else None


def url(term_id: str) -> str:
    """The Glossary page's relative URL showing ``term_id`` first; KeyError if unknown."""
    if term_id not in TERMS:
        raise KeyError(f"no glossary term {term_id!r}")
    return f"{PAGE}?{PARAM}={term_id}"


def link(term_id: str, label: str | None = None) -> str:
    """A markdown link to the entry, for ``st.markdown`` and ``help=`` tooltips.

    ``link("b-z")`` is ``[→ glossary: B(z)](Glossary?term=b-z)``; KeyError if unknown.
    """
    target = url(term_id)
    return f"[{label or '→ glossary: ' + TERMS[term_id].name}]({target})"


def see(*term_ids: str) -> str:
    """' See the glossary: [B(z)](…), [isometry](…).', to append to a help text."""
    if not term_ids:
        raise ValueError("see() needs at least one term id")
    return " See the glossary: " + ", ".join(link(t, _name(t)) for t in term_ids) + "."


def _name(term_id: str) -> str:
    if term_id not in TERMS:
        raise KeyError(f"no glossary term {term_id!r}")
    return TERMS[term_id].short


def matches(term_id: str, query: str) -> bool:
    """Whether every word of ``query`` occurs in the term's id, name or text (any case)."""
    term = TERMS[term_id]
    hay = f"{term_id} {term.name} {term.text}".lower()
    return all(word in hay for word in query.lower().split())
