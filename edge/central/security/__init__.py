"""The centre's commands for the site's security: `edge pki …`, `edge broker …`, `edge command send`. The machinery
(the PKI, the broker's config) is the shared edge.security and signed commands are the contract's; these commands are
the centre's because `edge pki revoke --store` also takes a gateway out of the centre's registry, and no gateway runs
them."""
