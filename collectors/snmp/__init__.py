"""SNMP collector: fetch the standard tables with pysnmp 7 (asyncio), parse them into Facts."""
