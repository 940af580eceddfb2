"""What the network is, for an estimator: its layers from the parameters and the
fitted state, and what its inputs are.

``Architecture`` is the mixin that ``BaseBackprop`` takes these from. A subclass
changes the network here and nowhere else: ``_network_layers`` (layers of other
kinds around the perceptron's), ``_layers_for`` (first layers that depend on the
fitted features, as a tabular network's embeddings do) and ``_input_matrix`` (a raw
table encoded before the network reads it). The engine and model files read the
layers through ``_fitted_network``.
"""

from typing import ClassVar

from ._core.activations import HIDDEN_ACTIVATIONS
from ._core.layers import perceptron_layers
from ._engine.fitted import network_params
from ._engine.start import hidden_layer_sizes, per_hidden_layer
from ._validation import check_features

__all__ = ["Architecture"]


class Architecture:
    """The network of an estimator: layers, activations, dropout and inputs."""

    def _layer_activations(self):
        """Activation of every fitted Dense layer, hidden layers first."""
        return [*self._hidden_activations, self.out_activation_]

    def _network_layers(self, units, activations):
        """The layers (``_core.layers``) for these units and activations per Dense
        layer, the output layer's last: a perceptron's (a subclass may add others)."""
        return perceptron_layers(units, activations)

    def _layers_for(self, units, activations, state):
        """The layers of the network whose fitted state is (or, in a fit, will be)
        ``state``: ``_network_layers``'s, which do not depend on it; a subclass
        whose first layers depend on its features reads them there."""
        return self._network_layers(units, activations)

    def _hidden_activation_names(self, n_hidden):
        """The activation of each hidden layer, from the ``activation`` parameter
        (checked): the fitted ``_hidden_activations`` of a first fit."""
        return per_hidden_layer("activation", self.activation, n_hidden,
                                lambda a: a in HIDDEN_ACTIVATIONS,
                                f"one of {HIDDEN_ACTIVATIONS}", str)

    # whether X may be a raw table (text, categories) that ``_input_matrix`` encodes
    _reads_raw_tables: ClassVar[bool] = False

    def _input_matrix(self, X, features):
        """``(X, features)``: the matrix the network reads for input X, and the
        feature state it was checked against or learnt (``features=None``: a first
        fit). Here X is left as it is, after refusing columns that are not numbers,
        and None says that ``validate_data`` checks and learns the features."""
        check_features(X)
        return X, None

    def _fitted_network(self):
        """``(layers, params)`` of the fitted network."""
        layers = self._layers_for([W.shape[1] for W in self.coefs_],
                                  self._layer_activations(), vars(self))
        return layers, network_params(layers, vars(self))

    def _dropout(self, n_hidden):
        return per_hidden_layer("dropout", self.dropout, n_hidden,
                                lambda p: 0 <= p < 1, "a rate in [0, 1)", float)

    def _hidden_layer_sizes(self):
        return hidden_layer_sizes(self.hidden_layer_sizes)
