"""Registry of demo-data seeders, so each app seeds its own part of `seed_demo`."""

_seeders = []


def register_demo_seeder(name: str):
    def decorator(func):
        _seeders.append((name, func))
        return func

    return decorator


def demo_seeders():
    import importlib

    from django.apps import apps

    for config in apps.get_app_configs():  # apps register on import of their demo module
        try:
            importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
    return list(_seeders)
