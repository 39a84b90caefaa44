"""One scan end to end: sources -> inventory -> rules -> findings -> store.

`scan` (the whole run, bad input refused before the database is written), `inventory`
(live and Git joined; drift, owners, controllers), `shapes` (objects whose fields the
rules cannot read are left out, and said), `engine` (runs the rules that can judge,
stamps ids, severities, owners, locations, fingerprints and waivers), `waivers`, `memo`
(rule results and clean inputs remembered per input digest).
"""
