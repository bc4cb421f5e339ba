package io.pqfl.coordinator.aggregate;

import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Adaptive server optimisers (Reddi et al., "Adaptive Federated Optimization", 2021). The average of the
 * round's updates minus the global model is a pseudo-gradient {@code d}; the server keeps moments
 * {@code m = b1*m + (1-b1)*d} and {@code v} (updated by the subclass's rule) and moves the global model by
 * {@code eta * m / (sqrt(v) + tau)}. The moments are the strategy's state and are checkpointed.
 */
public abstract class FedOpt implements Strategy {
    final float eta;
    final float beta1;
    final float beta2;
    final float tau;
    private Weighting weighting = Weighting.EXAMPLES;
    private ModelWeights m;
    private ModelWeights v;

    FedOpt(float eta, float beta1, float beta2, float tau) {
        if (!(eta > 0) || beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || !(tau > 0)) {
            throw new IllegalArgumentException("need eta > 0, 0 <= beta1, beta2 < 1, tau > 0");
        }
        this.eta = eta;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.tau = tau;
    }

    /** How the round's average weights updates (by examples, the default, or equally). */
    /** How updates are weighted in the mean the server step starts from. */
    public Weighting weighting() {
        return weighting;
    }

    FedOpt weighting(Weighting w) {
        this.weighting = java.util.Objects.requireNonNull(w, "weighting");
        return this;
    }

    /** The second-moment rule: new v from old v and the squared pseudo-gradient. */
    abstract float secondMoment(float v, float d2);

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        RoundAggregator mean = new FedAvg(weighting).begin(round, global);
        return new RoundAggregator() {
            @Override
            public void accept(io.pqfl.coordinator.verify.VerifiedUpdate update) {
                mean.accept(update);
            }

            @Override
            public int count() {
                return mean.count();
            }

            @Override
            public ModelWeights finish() {
                return step(global, mean.finish());
            }
        };
    }

    /**
     * One server step. The new moments and model are computed into copies and kept only if all of them are
     * finite: a finite but huge update (whose square overflows float32) must not leave infinite moments that
     * would freeze the model for every later round. Otherwise the round fails and the state stays as it was.
     */
    ModelWeights step(ModelWeights global, ModelWeights average) {
        ModelWeights mNext = m == null ? ModelWeights.zeros(global.manifest()) : m.copy();
        ModelWeights vNext = v == null ? ModelWeights.zeros(global.manifest()) : v.copy();
        ModelWeights next = global.copy();
        for (int t = 0; t < next.tensorCount(); t++) {
            float[] w = next.tensor(t);
            float[] avg = average.tensor(t);
            float[] mt = mNext.tensor(t);
            float[] vt = vNext.tensor(t);
            for (int i = 0; i < w.length; i++) {
                float d = avg[i] - w[i];
                mt[i] = beta1 * mt[i] + (1 - beta1) * d;
                vt[i] = secondMoment(vt[i], (float) ((double) d * d));
                w[i] += eta * mt[i] / ((float) Math.sqrt(vt[i]) + tau);
                if (!Float.isFinite(mt[i]) || !Float.isFinite(vt[i]) || !Float.isFinite(w[i])) {
                    throw new AggregationException("NON_FINITE: " + name() + "'s server step overflows float32 in tensor "
                            + global.manifest().tensors().get(t).name() + " (an update " + Math.abs(d)
                            + " away from the model); the optimiser state is left as it was");
                }
            }
        }
        m = mNext;
        v = vNext;
        return next;
    }

    @Override
    public Optional<ModelWeights> state() {
        if (m == null) {
            return Optional.empty();
        }
        List<TensorSpec> specs = new ArrayList<>();
        List<float[]> values = new ArrayList<>();
        ModelManifest manifest = m.manifest();
        for (int t = 0; t < manifest.tensors().size(); t++) {
            TensorSpec s = manifest.tensors().get(t);
            specs.add(new TensorSpec("m/" + s.name(), s.shape()));
            values.add(m.tensor(t));
        }
        for (int t = 0; t < manifest.tensors().size(); t++) {
            TensorSpec s = manifest.tensors().get(t);
            specs.add(new TensorSpec("v/" + s.name(), s.shape()));
            values.add(v.tensor(t));
        }
        return Optional.of(ModelWeights.of(new ModelManifest(name() + "-state", specs), values.toArray(new float[0][])).copy());
    }

    @Override
    public void restore(ModelWeights state) {
        int n = state.tensorCount() / 2;
        List<TensorSpec> specs = new ArrayList<>();
        float[][] mv = new float[n][];
        float[][] vv = new float[n][];
        for (int t = 0; t < n; t++) {
            TensorSpec s = state.manifest().tensors().get(t);
            specs.add(new TensorSpec(s.name().substring(2), s.shape()));
            mv[t] = state.tensor(t).clone();
            vv[t] = state.tensor(n + t).clone();
        }
        ModelManifest manifest = new ModelManifest("state", specs);
        m = ModelWeights.of(manifest, mv);
        v = ModelWeights.of(manifest, vv);
    }
}
