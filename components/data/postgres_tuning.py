"""The guide's PostgreSQL tuning in each target's dialect: RDS parameters, Cloud SQL flags, CNPG parameters.

RDS and Cloud SQL take integers in the setting's own unit (pg_settings.unit: 8kB pages, kB or MB); the
in-cluster operator takes the PostgreSQL strings as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.data.spec import PostgresTuning, memory_kb

# pg_settings.unit of each memory setting, in kB.
_UNIT_KB: dict[str, int] = {
    "shared_buffers": 8,
    "effective_cache_size": 8,
    "wal_buffers": 8,
    "maintenance_work_mem": 1,
    "work_mem": 1,
    "min_wal_size": 1024,
    "max_wal_size": 1024,
}
# Settings PostgreSQL reads only at start; RDS applies them at the next reboot.
STATIC_SETTINGS = frozenset({"shared_buffers", "wal_buffers"})


@dataclass(frozen=True)
class Setting:
    """One server setting in a managed service's integer-unit form."""

    name: str
    value: str

    @property
    def needs_restart(self) -> bool:
        return self.name in STATIC_SETTINGS


def native_settings(tuning: PostgresTuning) -> list[Setting]:
    """Every tuning setting with memory converted to the setting's own unit (sorted by name)."""
    settings: list[Setting] = []
    for name, value in tuning.model_dump().items():
        if name in _UNIT_KB:
            kb = memory_kb(value)
            if kb % _UNIT_KB[name]:
                raise ValueError(f"{name}={value} is not a whole number of {_UNIT_KB[name]} kB units")
            settings.append(Setting(name, str(kb // _UNIT_KB[name])))
        else:
            settings.append(Setting(name, str(value)))
    return sorted(settings, key=lambda s: s.name)


def cnpg_parameters(tuning: PostgresTuning) -> dict[str, str]:
    """`spec.postgresql.parameters` of a CloudNativePG Cluster (strings, units kept)."""
    return {name: str(value) for name, value in sorted(tuning.model_dump().items())}
