package io.pqfl.coordinator.aggregate;

/** FedAdam: {@code v = b2*v + (1-b2)*d^2}. */
public final class FedAdam extends FedOpt {
    public FedAdam(float eta, float beta1, float beta2, float tau) {
        super(eta, beta1, beta2, tau);
    }

    @Override
    public String name() {
        return "fedadam";
    }

    @Override
    float secondMoment(float v, float d2) {
        return beta2 * v + (1 - beta2) * d2;
    }
}
