package io.pqfl.trainer;

/**
 * Makes {@link Trainer}s: the unit a trainer jar provides. Registered for {@link java.util.ServiceLoader} in
 * {@code META-INF/services/io.pqfl.trainer.TrainerFactory} (one class name a line), found by {@link #name()} with
 * {@code pqfl client --trainer NAME}; or named by class ({@code --trainer com.example.MyFactory}). Implementations
 * need a public no-argument constructor.
 */
public interface TrainerFactory {
    /** The short name users choose it by ({@code djl}); lower case, unique among the factories on the class path. */
    String name();

    /** One line for listings and error messages. */
    String description();

    /**
     * A trainer for one client. Options come from {@code --trainer-option KEY=VALUE} (and, for the DJL trainer, from
     * the client's data options); a factory should refuse options it does not know ({@link TrainerOptions#rejectUnknown}).
     */
    Trainer create(TrainerOptions options) throws TrainerException;
}
