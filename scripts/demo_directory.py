#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The demo organisation's Active Directory for `make run` and the tests: an OpenLDAP slapd
with an AD-like schema (ad.schema next to this file: group, user, contact, groupType,
userAccountControl, proxyAddresses, sAMAccountName, with Microsoft's OIDs) holding nested
groups, a cycle, a disabled user, users without a mailbox, OUs, a member that does not exist
and a 10,000-member group. The size limit is 500, so only paged searches (RFC 2696) see a
whole large OU.

usage: demo_directory.py DIR URL...   prepares DIR once (TLS certificate, slapd.conf, data),
                                      then runs slapd in the foreground on the URLs
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "ad.schema")
SUFFIX = "dc=contoso,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "directory-secret"
BULK = 10000

SECURITY = -2147483646  # ADS_GROUP_TYPE_GLOBAL_GROUP | ADS_GROUP_TYPE_SECURITY_ENABLED
DISTRIBUTION = 2  # ADS_GROUP_TYPE_GLOBAL_GROUP
NORMAL, DISABLED = 512, 514  # userAccountControl: NORMAL_ACCOUNT, | ACCOUNTDISABLE


def dn(rdn, ou):
    return f"{rdn},{ou},{SUFFIX}" if ou else f"{rdn},{SUFFIX}"


def entry(d, **attrs):
    lines = [f"dn: {d}"]
    for k, vs in attrs.items():
        for v in vs if isinstance(vs, list) else [vs]:
            lines.append(f"{k}: {v}")
    return "\n".join(lines) + "\n\n"


def user(cn, ou, mail=None, uac=NORMAL, proxies=None):
    a = {"objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson", "user"],
         "cn": cn, "sn": cn.split()[-1], "sAMAccountName": cn.replace(" ", ".").lower(),
         "userAccountControl": uac}
    if mail:
        a["mail"] = mail
    if proxies:
        a["proxyAddresses"] = proxies
    return entry(dn(f"cn={cn}", ou), **a)


def group(cn, members, gtype=SECURITY, mail=None):
    a = {"objectClass": ["top", "group"], "cn": cn, "groupType": gtype,
         "sAMAccountName": cn.replace(" ", "")}
    if mail:
        a["mail"] = mail
    if members:
        a["member"] = members
    return entry(dn(f"cn={cn}", "ou=Groups"), **a)


def ou(name, parent=""):
    return entry(f"ou={name},{parent + ',' if parent else ''}{SUFFIX}",
                 objectClass=["top", "organizationalUnit"], ou=name)


STAFF, ENG, SALES, OTHER = "ou=Staff", "ou=Engineering,ou=Staff", "ou=Sales,ou=Staff", "ou=Other"
MAIL = "@contoso.example"

# What each group or OU must resolve to (sorted) and what it leaves out.
EXPECTED = {
    "eng": [f"{n}{MAIL}" for n in ("farid.haddad", "greta.berg", "hugo.lambert")],
    "sales": [f"{n}{MAIL}" for n in ("chloe.martin", "daniel.novak", "maya.patel")],
    "all": sorted(f"{n}{MAIL}" for n in (
        "anna.schmidt", "ben.carter", "eva.lindqvist", "farid.haddad", "greta.berg",
        "hugo.lambert", "chloe.martin", "daniel.novak", "maya.patel")),
    "cycle": [f"ines.costa{MAIL}", f"jonas.weber{MAIL}"],
    "staff": sorted(f"{n}{MAIL}" for n in (
        "anna.schmidt", "ben.carter", "farid.haddad", "greta.berg", "hugo.lambert",
        "chloe.martin", "daniel.novak", "maya.patel")),
}
GROUPS = {
    "eng": dn("cn=Engineering", "ou=Groups"),
    "sales": dn("cn=Sales", "ou=Groups"),
    "all": dn("cn=All Staff", "ou=Groups"),
    "cycle": dn("cn=Cycle A", "ou=Groups"),
    "broken": dn("cn=Broken", "ou=Groups"),
    "bulk": dn("cn=Bulk", "ou=Groups"),
    "staff": f"{STAFF},{SUFFIX}",
    "bulk_ou": f"ou=Bulk,{SUFFIX}",
    "missing": dn("cn=Nobody Here", "ou=Groups"),
}


def demo_ldif():
    """The demo organisation's directory, as LDIF text."""
    u = lambda cn, o: dn(f"cn={cn}", o)  # noqa: E731
    parts = [entry(SUFFIX, objectClass=["top", "dcObject", "organization"], dc="contoso",
                   o="Contoso"),
             ou("Staff"), ou("Engineering", STAFF), ou("Sales", STAFF), ou("Other"),
             ou("Groups"), ou("Bulk"),
             user("Anna Schmidt", STAFF, f"anna.schmidt{MAIL}"),
             user("Ben Carter", STAFF, f"ben.carter{MAIL}"),
             user("Kira Sato", STAFF, f"kira.sato{MAIL}", uac=DISABLED),
             user("Liam OBrien", STAFF),  # no mail, no proxyAddresses: no mailbox
             user("Farid Haddad", ENG, f"farid.haddad{MAIL}"),
             user("Greta Berg", ENG, f"greta.berg{MAIL}"),
             user("Hugo Lambert", ENG, f"hugo.lambert{MAIL}"),
             user("Chloe Martin", SALES, f"chloe.martin{MAIL}"),
             user("Daniel Novak", SALES, f"daniel.novak{MAIL}"),
             # No mail: the address is the primary (upper-case SMTP:) proxy address.
             user("Maya Patel", SALES, proxies=[f"smtp:maya.alias{MAIL}",
                                                f"SMTP:maya.patel{MAIL}", "X500:/o=Contoso"]),
             user("Eva Lindqvist", OTHER, f"eva.lindqvist{MAIL}"),
             user("Ines Costa", OTHER, f"ines.costa{MAIL}"),
             user("Jonas Weber", OTHER, f"jonas.weber{MAIL}"),
             entry(dn("cn=Partner Contact", OTHER),
                   objectClass=["top", "person", "organizationalPerson", "contact"],
                   cn="Partner Contact", sn="Contact", mail="partner@reseller.example"),
             group("Engineering", [u(n, ENG) for n in ("Farid Haddad", "Greta Berg",
                                                       "Hugo Lambert")]),
             group("Sales", [u("Chloe Martin", SALES), u("Daniel Novak", SALES),
                             u("Maya Patel", SALES), u("Partner Contact", OTHER)],
                   gtype=DISTRIBUTION, mail=f"sales{MAIL}"),
             group("All Staff", [u("Anna Schmidt", STAFF), u("Ben Carter", STAFF),
                                 u("Kira Sato", STAFF), u("Liam OBrien", STAFF),
                                 GROUPS["eng"], GROUPS["sales"], u("Eva Lindqvist", OTHER),
                                 u("Farid Haddad", ENG)],
                   mail=f"all{MAIL}"),
             group("Cycle A", [u("Ines Costa", OTHER), dn("cn=Cycle B", "ou=Groups")]),
             group("Cycle B", [u("Jonas Weber", OTHER), GROUPS["cycle"]]),
             group("Broken", [u("Anna Schmidt", STAFF), dn("cn=Gone Away", OTHER)])]
    bulk = [user(f"Bulk {i:05d}", "ou=Bulk", f"bulk{i:05d}@bulk.contoso.example")
            for i in range(BULK)]
    parts += bulk
    parts.append(group("Bulk", [dn(f"cn=Bulk {i:05d}", "ou=Bulk") for i in range(BULK)]))
    return "".join(parts)


CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {schema}
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile {dir}/cert.pem
TLSCertificateKeyFile {dir}/key.pem
sizelimit size.soft=500 size.hard=500 size.prtotal=unlimited
database mdb
maxsize 1073741824
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
index objectClass eq
access to * by * read
"""


def prepare(d):
    """Writes the certificate, slapd.conf and the loaded database into d, once; returns the
    configuration file's path."""
    conf = os.path.join(d, "slapd.conf")
    if os.path.exists(os.path.join(d, "db", "data.mdb")):
        return conf
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                    "-subj", "/CN=127.0.0.1", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"],
                   check=True, capture_output=True)
    with open(conf, "w", encoding="utf-8") as f:
        f.write(CONF.format(schema=SCHEMA, dir=d, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PW))
    ldif = os.path.join(d, "demo.ldif")
    with open(ldif, "w", encoding="utf-8") as f:
        f.write(demo_ldif())
    # slapadd loads the 10,000 entries offline in a second; ldapadd would take much longer.
    subprocess.run(["slapadd", "-q", "-f", conf, "-l", ldif], check=True, capture_output=True)
    return conf


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d = os.path.abspath(sys.argv[1])
    conf = prepare(d)
    os.execvp("slapd", ["slapd", "-f", conf, "-h", " ".join(u + "/" for u in sys.argv[2:]),
                        "-d", "0"])


if __name__ == "__main__":
    main()
