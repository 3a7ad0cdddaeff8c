"""Numeric OIDs of the standard MIB objects cloudward reads (no MIB files needed).

Only the columns the parser uses are walked, never whole tables: counters and other volatile
columns would multiply the values read per device for nothing.
"""

from __future__ import annotations

# SNMPv2-MIB system group and other scalars fetched first, in one GET.
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_SERVICES = "1.3.6.1.2.1.1.7.0"
SNMP_ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_SYSTEM_DATE = "1.3.6.1.2.1.25.1.2.0"
HR_MEMORY_SIZE = "1.3.6.1.2.1.25.2.2.0"
LLDP_LOC_CHASSIS_SUBTYPE = "1.0.8802.1.1.2.1.3.1.0"
LLDP_LOC_CHASSIS_ID = "1.0.8802.1.1.2.1.3.2.0"
LLDP_LOC_SYS_NAME = "1.0.8802.1.1.2.1.3.3.0"
# UCD-SNMP-MIB (net-snmp agents): memory and CPU idle, cheap utilisation for Linux/Unix boxes.
UCD_MEM_TOTAL_REAL = "1.3.6.1.4.1.2021.4.5.0"
UCD_MEM_AVAIL_REAL = "1.3.6.1.4.1.2021.4.6.0"
UCD_CPU_IDLE = "1.3.6.1.4.1.2021.11.11.0"
UCD_LOAD1 = "1.3.6.1.4.1.2021.10.1.3.1"

SCALARS: tuple[str, ...] = (
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYS_CONTACT,
    SYS_NAME,
    SYS_LOCATION,
    SYS_SERVICES,
    SNMP_ENGINE_ID,
    HR_SYSTEM_UPTIME,
    HR_MEMORY_SIZE,
    LLDP_LOC_CHASSIS_SUBTYPE,
    LLDP_LOC_CHASSIS_ID,
    LLDP_LOC_SYS_NAME,
    UCD_MEM_TOTAL_REAL,
    UCD_MEM_AVAIL_REAL,
    UCD_CPU_IDLE,
    UCD_LOAD1,
)

# IF-MIB ifTable / ifXTable
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_MTU = "1.3.6.1.2.1.2.2.1.4"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.6"
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"

# IP-MIB: the legacy ipAddrTable (IPv4) and ipAddressTable (both families)
IP_AD_ENT_IF_INDEX = "1.3.6.1.2.1.4.20.1.2"
IP_AD_ENT_NETMASK = "1.3.6.1.2.1.4.20.1.3"
IP_ADDRESS_IF_INDEX = "1.3.6.1.2.1.4.34.1.3"
IP_ADDRESS_TYPE = "1.3.6.1.2.1.4.34.1.4"
IP_ADDRESS_PREFIX = "1.3.6.1.2.1.4.34.1.5"

# ENTITY-MIB entPhysicalTable
ENT = "1.3.6.1.2.1.47.1.1.1.1"
ENT_COLUMNS = {
    "descr": 2,
    "vendor_type": 3,
    "contained_in": 4,
    "class": 5,
    "name": 7,
    "hw_rev": 8,
    "fw_rev": 9,
    "sw_rev": 10,
    "serial": 11,
    "mfg_name": 12,
    "model": 13,
    "mfg_date": 17,
}
ENT_CLASS_NAMES = {
    1: "other",
    2: "unknown",
    3: "chassis",
    4: "backplane",
    5: "container",
    6: "powerSupply",
    7: "fan",
    8: "sensor",
    9: "module",
    10: "port",
    11: "stack",
    12: "cpu",
}

# HOST-RESOURCES-MIB
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
HR_STORAGE_COLUMNS = {"type": 2, "descr": 3, "units": 4, "size": 5, "used": 6}
HR_STORAGE_TYPES = {
    1: "other",
    2: "ram",
    3: "virtual",
    4: "fixed",
    5: "removable",
    6: "floppy",
    7: "cd",
    8: "ramdisk",
    9: "flash",
    10: "network",
}
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"
HR_DEVICE_PROCESSOR = "1.3.6.1.2.1.25.3.1.3"
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_SW_INSTALLED_NAME = "1.3.6.1.2.1.25.6.3.1.2"
HR_SW_INSTALLED_TYPE = "1.3.6.1.2.1.25.6.3.1.4"
HR_SW_INSTALLED_DATE = "1.3.6.1.2.1.25.6.3.1.5"

# LLDP-MIB (IEEE 802.1AB) remote systems and local ports
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_REM_COLUMNS = {
    "chassis_subtype": 4,
    "chassis_id": 5,
    "port_subtype": 6,
    "port_id": 7,
    "port_descr": 8,
    "sys_name": 9,
    "sys_descr": 10,
}
LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_LOC_PORT_DESCR = "1.0.8802.1.1.2.1.3.7.1.4"
LLDP_REM_MAN_ADDR_IF_SUBTYPE = "1.0.8802.1.1.2.1.4.2.1.3"

# CISCO-CDP-MIB cdpCacheTable
CDP_CACHE = "1.3.6.1.4.1.9.9.23.1.2.1.1"
CDP_COLUMNS = {
    "address_type": 3,
    "address": 4,
    "version": 5,
    "device_id": 6,
    "device_port": 7,
    "platform": 8,
}

# TCP-MIB (RFC 4022): listeners and connections with owning process; HOST-RESOURCES hrSWRun
# names those processes. Legacy tcpConnTable (IPv4 only) for older agents.
TCP_CONNECTION_STATE = "1.3.6.1.2.1.6.19.1.7"
TCP_CONNECTION_PROCESS = "1.3.6.1.2.1.6.19.1.8"
TCP_LISTENER_PROCESS = "1.3.6.1.2.1.6.20.1.4"
TCP_CONN_STATE_LEGACY = "1.3.6.1.2.1.6.13.1.1"
HR_SW_RUN_NAME = "1.3.6.1.2.1.25.4.2.1.2"


def _columns(base: str, cols: dict[str, int]) -> tuple[str, ...]:
    return tuple(f"{base}.{n}" for n in cols.values())


WALK_ROOTS: tuple[str, ...] = (
    IF_DESCR,
    IF_TYPE,
    IF_MTU,
    IF_SPEED,
    IF_PHYS_ADDRESS,
    IF_ADMIN_STATUS,
    IF_OPER_STATUS,
    IF_NAME,
    IF_HIGH_SPEED,
    IF_ALIAS,
    IP_AD_ENT_IF_INDEX,
    IP_AD_ENT_NETMASK,
    IP_ADDRESS_IF_INDEX,
    IP_ADDRESS_TYPE,
    IP_ADDRESS_PREFIX,
    *_columns(ENT, ENT_COLUMNS),
    *_columns(HR_STORAGE, HR_STORAGE_COLUMNS),
    HR_DEVICE_TYPE,
    HR_DEVICE_DESCR,
    HR_PROCESSOR_LOAD,
    HR_SW_INSTALLED_NAME,
    HR_SW_INSTALLED_TYPE,
    HR_SW_INSTALLED_DATE,
    *_columns(LLDP_REM, LLDP_REM_COLUMNS),
    LLDP_LOC_PORT_ID,
    LLDP_LOC_PORT_DESCR,
    LLDP_REM_MAN_ADDR_IF_SUBTYPE,
    *_columns(CDP_CACHE, CDP_COLUMNS),
    TCP_CONNECTION_STATE,
    TCP_CONNECTION_PROCESS,
    TCP_LISTENER_PROCESS,
    TCP_CONN_STATE_LEGACY,
    HR_SW_RUN_NAME,
)
