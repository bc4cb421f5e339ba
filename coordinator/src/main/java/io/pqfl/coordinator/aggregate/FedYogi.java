package io.pqfl.coordinator.aggregate;

/** FedYogi: {@code v = v - (1-b2)*d^2*sign(v - d^2)}; v grows more cautiously than in Adam. */
public final class FedYogi extends FedOpt {
    public FedYogi(float eta, float beta1, float beta2, float tau) {
        super(eta, beta1, beta2, tau);
    }

    @Override
    public String name() {
        return "fedyogi";
    }

    @Override
    float secondMoment(float v, float d2) {
        return v - (1 - beta2) * d2 * Math.signum(v - d2);
    }
}
