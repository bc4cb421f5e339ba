package io.pqfl.coordinator.aggregate;

/** FedAdagrad: {@code v = v + d^2}. */
public final class FedAdagrad extends FedOpt {
    public FedAdagrad(float eta, float beta1, float tau) {
        super(eta, beta1, 0f, tau);
    }

    @Override
    public String name() {
        return "fedadagrad";
    }

    @Override
    float secondMoment(float v, float d2) {
        return v + d2;
    }
}
