package io.pqfl.trainer;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Finds a {@link TrainerFactory} by name or class, on the class path or in a user's jar.
 *
 * <p>With a jar, its classes are loaded by a {@link URLClassLoader} over the jar whose parent is the caller's
 * loader (so the jar sees pqfl's API and libraries, and pqfl's own classes win). The loader stays open for the
 * process's life: the trainer's classes are in use until the client exits. A jar's code runs with the client's
 * rights — it is code the operator chose to run, like any other part of the client.
 */
public final class Trainers {
    private Trainers() {
    }

    /**
     * The factory {@code nameOrClass} names: first a {@link ServiceLoader}-registered factory whose
     * {@link TrainerFactory#name()} it is; else a class of that name that implements {@link TrainerFactory} (public
     * no-argument constructor) or {@link Trainer} (public constructor taking {@link TrainerOptions}, or no arguments),
     * the latter wrapped as a factory. {@code nameOrClass == null} with a jar means the only factory the jar
     * registers.
     *
     * @param jarOrNull a jar to load the trainer from, or null for the class path
     * @throws TrainerException naming what was looked for and the factories that exist
     */
    public static TrainerFactory find(String nameOrClass, Path jarOrNull) throws TrainerException {
        return find(nameOrClass, jarOrNull, Trainers.class.getClassLoader());
    }

    /** {@link #find(String, Path)} with {@code parent} as the class loader to search (and the jar loader's parent). */
    public static TrainerFactory find(String nameOrClass, Path jarOrNull, ClassLoader parent) throws TrainerException {
        Objects.requireNonNull(parent, "parent");
        if (nameOrClass == null && jarOrNull == null) {
            throw new TrainerException("name a trainer (--trainer NAME|CLASS) or give a trainer jar (--trainer-jar JAR)");
        }
        if (jarOrNull == null) {
            return find(nameOrClass, null, parent, parent);
        }
        ClassLoader loader = jarLoader(jarOrNull, parent);
        return withContextLoader(find(nameOrClass, jarOrNull, parent, loader), loader);
    }

    private static TrainerFactory find(String nameOrClass, Path jarOrNull, ClassLoader parent, ClassLoader loader)
            throws TrainerException {
        List<TrainerFactory> registered = registered(loader);
        if (nameOrClass == null) {
            List<TrainerFactory> inJar = registered.stream().filter(f -> f.getClass().getClassLoader() == loader).toList();
            if (inJar.size() != 1) {
                throw new TrainerException(jarOrNull + " registers " + (inJar.isEmpty() ? "no trainer factory"
                        : inJar.size() + " trainer factories (" + names(inJar) + "); choose one with --trainer")
                        + (inJar.isEmpty() ? " (META-INF/services/" + TrainerFactory.class.getName()
                        + "); name its trainer class with --trainer" : ""));
            }
            return inJar.get(0);
        }
        for (TrainerFactory f : registered) {
            if (f.name().equals(nameOrClass)) {
                return f;
            }
        }
        if (!looksLikeClassName(nameOrClass)) {
            throw new TrainerException("no trainer named '" + nameOrClass + "'" + where(jarOrNull) + "; known trainers: "
                    + names(registered) + " (or give a class that implements " + TrainerFactory.class.getName() + " or "
                    + Trainer.class.getName() + ")");
        }
        Class<?> type;
        try {
            type = Class.forName(nameOrClass, true, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new TrainerException("no trainer named '" + nameOrClass + "' and no such class" + where(jarOrNull)
                    + (e instanceof LinkageError ? " (" + e + ")" : "") + "; known trainers: " + names(registered), e);
        }
        if (TrainerFactory.class.isAssignableFrom(type)) {
            return (TrainerFactory) instantiate(type, false);
        }
        if (Trainer.class.isAssignableFrom(type)) {
            return wrap(type.asSubclass(Trainer.class));
        }
        throw new TrainerException(nameOrClass + " implements neither " + TrainerFactory.class.getName() + " nor "
                + Trainer.class.getName());
    }

    /**
     * {@code factory}, creating its trainers with the jar's loader as the thread's context class loader: what a
     * factory loads by name (the DJL trainer's {@code block-factory}, a library's own ServiceLoader) is found in the
     * jar even when the factory itself is one of pqfl's.
     */
    private static TrainerFactory withContextLoader(TrainerFactory factory, ClassLoader loader) {
        return new TrainerFactory() {
            @Override
            public String name() {
                return factory.name();
            }

            @Override
            public String description() {
                return factory.description();
            }

            @Override
            public Trainer create(TrainerOptions options) throws TrainerException {
                Thread thread = Thread.currentThread();
                ClassLoader before = thread.getContextClassLoader();
                thread.setContextClassLoader(loader);
                try {
                    return factory.create(options);
                } finally {
                    thread.setContextClassLoader(before);
                }
            }

            @Override
            public String toString() {
                return factory + " (with its trainer jar)";
            }
        };
    }

    /** The factories registered for {@link ServiceLoader} on the class path, for listings. */
    public static List<TrainerFactory> available() throws TrainerException {
        return registered(Trainers.class.getClassLoader());
    }

    private static ClassLoader jarLoader(Path jar, ClassLoader parent) throws TrainerException {
        if (!Files.isRegularFile(jar)) {
            throw new TrainerException("trainer jar " + jar + " does not exist or is not a file");
        }
        try (var zip = new java.util.zip.ZipFile(jar.toFile())) {
            zip.size(); // opens it: a file that is not a jar is refused here, not as a missing class later
        } catch (IOException e) {
            throw new TrainerException("trainer jar " + jar + " is not a readable jar: " + e.getMessage(), e);
        }
        URL url;
        try {
            url = jar.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new TrainerException("trainer jar " + jar + ": " + e.getMessage(), e);
        }
        return new URLClassLoader("pqfl-trainer-jar", new URL[] {url}, parent);
    }

    private static List<TrainerFactory> registered(ClassLoader loader) throws TrainerException {
        List<TrainerFactory> out = new ArrayList<>();
        try {
            for (TrainerFactory f : ServiceLoader.load(TrainerFactory.class, loader)) {
                out.add(f);
            }
        } catch (ServiceConfigurationError e) {
            throw new TrainerException("a registered trainer factory cannot be loaded: " + e.getMessage(), e);
        }
        return out;
    }

    private static TrainerFactory wrap(Class<? extends Trainer> type) throws TrainerException {
        Constructor<? extends Trainer> withOptions;
        try {
            withOptions = type.getConstructor(TrainerOptions.class);
        } catch (NoSuchMethodException e) {
            withOptions = null;
        }
        if (withOptions == null) {
            instantiable(type, true); // fails now, not at the first create, when there is no usable constructor
        } else {
            instantiable(type, false);
        }
        Constructor<? extends Trainer> constructor = withOptions;
        return new TrainerFactory() {
            @Override
            public String name() {
                return type.getName();
            }

            @Override
            public String description() {
                return "the trainer class " + type.getName();
            }

            @Override
            public Trainer create(TrainerOptions options) throws TrainerException {
                if (constructor == null) {
                    return (Trainer) instantiate(type, true); // takes no options: they are not its to read
                }
                try {
                    return constructor.newInstance(options);
                } catch (InvocationTargetException e) {
                    throw failed(type, e.getCause());
                } catch (ReflectiveOperationException e) {
                    throw new TrainerException("cannot create " + type.getName() + ": " + e, e);
                }
            }
        };
    }

    private static void instantiable(Class<?> type, boolean needsNoArg) throws TrainerException {
        if (!Modifier.isPublic(type.getModifiers()) || Modifier.isAbstract(type.getModifiers())) {
            throw new TrainerException(type.getName() + " must be a public, non-abstract class");
        }
        if (needsNoArg) {
            try {
                type.getConstructor();
            } catch (NoSuchMethodException e) {
                throw new TrainerException(type.getName() + " needs a public constructor taking "
                        + TrainerOptions.class.getSimpleName() + ", or one taking no arguments", e);
            }
        }
    }

    private static Object instantiate(Class<?> type, boolean trainer) throws TrainerException {
        instantiable(type, false);
        try {
            return type.getConstructor().newInstance();
        } catch (NoSuchMethodException e) {
            throw new TrainerException(type.getName() + " needs a public no-argument constructor"
                    + (trainer ? " (or one taking " + TrainerOptions.class.getSimpleName() + ")" : ""), e);
        } catch (InvocationTargetException e) {
            throw failed(type, e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new TrainerException("cannot create " + type.getName() + ": " + e, e);
        }
    }

    private static TrainerException failed(Class<?> type, Throwable cause) {
        if (cause instanceof TrainerException t) {
            return t;
        }
        return new TrainerException(type.getName() + " failed to start: " + cause, cause);
    }

    private static boolean looksLikeClassName(String s) {
        return s.contains(".") && s.chars().allMatch(c -> Character.isJavaIdentifierPart(c) || c == '.' || c == '$');
    }

    private static String where(Path jar) {
        return jar == null ? " on the class path" : " in " + jar + " or on the class path";
    }

    private static String names(List<TrainerFactory> factories) {
        return factories.isEmpty() ? "(none registered)"
                : factories.stream().map(f -> f.name() + " (" + f.description() + ")").collect(Collectors.joining(", "));
    }
}
