package io.pqfl.sim.attack;

/**
 * Which attacks a simulation mounts and how often: each rate is the probability that a given client's
 * update in a given round is attacked that way (at most one attack per update). Decisions are drawn from
 * the seed, so a signed and an unsigned arm face the same attacks.
 */
public record AttackPlan(double tamper, double replay, double forge, double unenrolled, double poison, String poisonMode,
                         float poisonScale, long seed) {
    public enum Attack { NONE, TAMPER, REPLAY, FORGE, UNENROLLED, POISON }

    public AttackPlan {
        for (double r : new double[] {tamper, replay, forge, unenrolled, poison}) {
            if (!(r >= 0 && r <= 1)) {
                throw new IllegalArgumentException("attack rates must be in [0, 1], got " + r);
            }
        }
        if (tamper + replay + forge + unenrolled + poison > 1) {
            throw new IllegalArgumentException("attack rates add up to more than 1");
        }
        if (!poisonMode.equals("scale") && !poisonMode.equals("signflip")) {
            throw new IllegalArgumentException("unknown poison mode '" + poisonMode + "': use scale or signflip");
        }
    }

    public static AttackPlan none() {
        return new AttackPlan(0, 0, 0, 0, 0, "scale", 10f, 1);
    }

    public boolean any() {
        return tamper + replay + forge + unenrolled + poison > 0;
    }

    /** The attack (if any) on client {@code client}'s update in round {@code round}. */
    public Attack decide(int client, long round) {
        // SplittableRandom mixes its seed, so neighbouring (client, round) pairs get independent draws.
        double u = new java.util.SplittableRandom(seed * 0x9E3779B97F4A7C15L + client * 0xC2B2AE3D27D4EB4FL + round).nextDouble();
        double edge = 0;
        for (Attack a : new Attack[] {Attack.TAMPER, Attack.REPLAY, Attack.FORGE, Attack.UNENROLLED, Attack.POISON}) {
            edge += switch (a) {
                case TAMPER -> tamper;
                case REPLAY -> replay;
                case FORGE -> forge;
                case UNENROLLED -> unenrolled;
                case POISON -> poison;
                case NONE -> 0;
            };
            if (u < edge) {
                return a;
            }
        }
        return Attack.NONE;
    }

    @Override
    public String toString() {
        if (!any()) {
            return "none";
        }
        StringBuilder b = new StringBuilder();
        append(b, "tamper", tamper);
        append(b, "replay", replay);
        append(b, "forge", forge);
        append(b, "unenrolled", unenrolled);
        append(b, "poison-" + poisonMode, poison);
        return b.toString();
    }

    private static void append(StringBuilder b, String name, double rate) {
        if (rate > 0) {
            b.append(b.length() == 0 ? "" : ",").append(name).append('=').append(rate);
        }
    }
}
