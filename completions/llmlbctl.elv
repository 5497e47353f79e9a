
use builtin;
use str;

set edit:completion:arg-completer[llmlbctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'llmlbctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'llmlbctl'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand status 'Show the daemon''s version, uptime and node counts'
            cand nodes 'List, inspect, approve and manage nodes'
            cand api-keys 'Create, list, rotate and revoke API keys'
            cand audit 'Show the audit trail: who approved, removed, rotated, logged in…'
            cand join-tokens 'Create, list and revoke join tokens, which let machines register'
            cand login 'Log in with a username and password and save the session for later commands (mode 0600 under the user''s config dir)'
            cand logout 'End the saved session and forget it'
            cand migrate-json 'Import a legacy nodes.json into the daemon (JSON → SQLite)'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;status'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List nodes, pending ones first'
            cand show 'Show one node in detail'
            cand approve 'Approve pending nodes so they receive traffic'
            cand remove 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
            cand edit 'Set a node''s custom name, notes or tags'
            cand rotate-token 'Start a token rotation: the node gets a new token in its next heartbeat reply'
            cand revoke-token 'Revoke a node''s token at once; the node must register again'
            cand drain 'Send a node no new requests; it stays registered'
            cand undrain 'Let a drained node receive requests again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;nodes;list'= {
            cand --status 'Only nodes with this status'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --wide 'More columns: full ids, versions, metrics, times, tags'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;show'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;approve'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --all-pending 'Approve every pending node'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;remove'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;edit'= {
            cand --name 'Custom name shown beside the machine name ("" clears it)'
            cand --notes 'Free-form notes ("" clears them)'
            cand --tag 'Tags; repeat for several. Replaces the node''s tags'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --clear-tags 'Remove all tags'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;rotate-token'= {
            cand --grace 'How long the old token keeps working (e.g. 10m) [default: the daemon''s]'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;revoke-token'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;drain'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;undrain'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;nodes;help'= {
            cand list 'List nodes, pending ones first'
            cand show 'Show one node in detail'
            cand approve 'Approve pending nodes so they receive traffic'
            cand remove 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
            cand edit 'Set a node''s custom name, notes or tags'
            cand rotate-token 'Start a token rotation: the node gets a new token in its next heartbeat reply'
            cand revoke-token 'Revoke a node''s token at once; the node must register again'
            cand drain 'Send a node no new requests; it stays registered'
            cand undrain 'Let a drained node receive requests again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;nodes;help;list'= {
        }
        &'llmlbctl;nodes;help;show'= {
        }
        &'llmlbctl;nodes;help;approve'= {
        }
        &'llmlbctl;nodes;help;remove'= {
        }
        &'llmlbctl;nodes;help;edit'= {
        }
        &'llmlbctl;nodes;help;rotate-token'= {
        }
        &'llmlbctl;nodes;help;revoke-token'= {
        }
        &'llmlbctl;nodes;help;drain'= {
        }
        &'llmlbctl;nodes;help;undrain'= {
        }
        &'llmlbctl;nodes;help;help'= {
        }
        &'llmlbctl;api-keys'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand create 'Create a key; its secret is printed this once'
            cand list 'List keys (never their secrets)'
            cand revoke 'Revoke a key at once'
            cand rotate 'Replace a key''s secret; the old one stops working. The new secret is printed this once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;api-keys;create'= {
            cand --name 'A name saying who or what uses the key'
            cand --role 'What the key may do'
            cand --expires-in 'Lifetime (e.g. 30d), from 1s to 3650d (10 years); the key never expires without it'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmlbctl;api-keys;list'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;api-keys;revoke'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;api-keys;rotate'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;api-keys;help'= {
            cand create 'Create a key; its secret is printed this once'
            cand list 'List keys (never their secrets)'
            cand revoke 'Revoke a key at once'
            cand rotate 'Replace a key''s secret; the old one stops working. The new secret is printed this once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;api-keys;help;create'= {
        }
        &'llmlbctl;api-keys;help;list'= {
        }
        &'llmlbctl;api-keys;help;revoke'= {
        }
        &'llmlbctl;api-keys;help;rotate'= {
        }
        &'llmlbctl;api-keys;help;help'= {
        }
        &'llmlbctl;audit'= {
            cand --since 'Only events of the last this long (e.g. 1h, 7d)'
            cand --node 'Only events about this node (id or unique prefix)'
            cand --action 'Only this action (node.approve) or group of actions (node)'
            cand --limit 'Most events shown, newest first'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;join-tokens'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand create 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
            cand list 'List join tokens (never the secrets)'
            cand revoke 'Revoke a join token at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;join-tokens;create'= {
            cand --name 'A label for people'
            cand --ttl 'How long it is valid (e.g. 24h, 7d), from 1s to 365d'
            cand --uses 'How many registrations it admits [default: unlimited]'
            cand --tag 'A tag for every node that registers with it; repeat for several'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --never-expires 'The token never expires (revoke it when done)'
            cand --auto-approve 'Approve the nodes that register with it at once'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;join-tokens;list'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;join-tokens;revoke'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;join-tokens;help'= {
            cand create 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
            cand list 'List join tokens (never the secrets)'
            cand revoke 'Revoke a join token at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;join-tokens;help;create'= {
        }
        &'llmlbctl;join-tokens;help;list'= {
        }
        &'llmlbctl;join-tokens;help;revoke'= {
        }
        &'llmlbctl;join-tokens;help;help'= {
        }
        &'llmlbctl;login'= {
            cand --username 'The user to log in as'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --password-stdin 'Read the password from stdin instead of the terminal (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;logout'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;migrate-json'= {
            cand --on-conflict 'What to do with a record whose id the daemon already has'
            cand --batch-size 'Records per request'
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand --dry-run 'Validate and report what would happen, without writing anything'
            cand --keep 'Keep the file where it is instead of renaming it to FILE.migrated'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'llmlbctl;completions'= {
            cand --url 'URL of the daemon'
            cand --token 'Bearer token: an API key or a session token'
            cand --token-file 'Read the bearer token from this file'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way'
            cand -o 'Output format: a table for people, or the API''s JSON as is'
            cand --output 'Output format: a table for people, or the API''s JSON as is'
            cand --timeout 'How long to wait for the daemon (e.g. 30s)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'llmlbctl;help'= {
            cand status 'Show the daemon''s version, uptime and node counts'
            cand nodes 'List, inspect, approve and manage nodes'
            cand api-keys 'Create, list, rotate and revoke API keys'
            cand audit 'Show the audit trail: who approved, removed, rotated, logged in…'
            cand join-tokens 'Create, list and revoke join tokens, which let machines register'
            cand login 'Log in with a username and password and save the session for later commands (mode 0600 under the user''s config dir)'
            cand logout 'End the saved session and forget it'
            cand migrate-json 'Import a legacy nodes.json into the daemon (JSON → SQLite)'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'llmlbctl;help;status'= {
        }
        &'llmlbctl;help;nodes'= {
            cand list 'List nodes, pending ones first'
            cand show 'Show one node in detail'
            cand approve 'Approve pending nodes so they receive traffic'
            cand remove 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
            cand edit 'Set a node''s custom name, notes or tags'
            cand rotate-token 'Start a token rotation: the node gets a new token in its next heartbeat reply'
            cand revoke-token 'Revoke a node''s token at once; the node must register again'
            cand drain 'Send a node no new requests; it stays registered'
            cand undrain 'Let a drained node receive requests again'
        }
        &'llmlbctl;help;nodes;list'= {
        }
        &'llmlbctl;help;nodes;show'= {
        }
        &'llmlbctl;help;nodes;approve'= {
        }
        &'llmlbctl;help;nodes;remove'= {
        }
        &'llmlbctl;help;nodes;edit'= {
        }
        &'llmlbctl;help;nodes;rotate-token'= {
        }
        &'llmlbctl;help;nodes;revoke-token'= {
        }
        &'llmlbctl;help;nodes;drain'= {
        }
        &'llmlbctl;help;nodes;undrain'= {
        }
        &'llmlbctl;help;api-keys'= {
            cand create 'Create a key; its secret is printed this once'
            cand list 'List keys (never their secrets)'
            cand revoke 'Revoke a key at once'
            cand rotate 'Replace a key''s secret; the old one stops working. The new secret is printed this once'
        }
        &'llmlbctl;help;api-keys;create'= {
        }
        &'llmlbctl;help;api-keys;list'= {
        }
        &'llmlbctl;help;api-keys;revoke'= {
        }
        &'llmlbctl;help;api-keys;rotate'= {
        }
        &'llmlbctl;help;audit'= {
        }
        &'llmlbctl;help;join-tokens'= {
            cand create 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
            cand list 'List join tokens (never the secrets)'
            cand revoke 'Revoke a join token at once'
        }
        &'llmlbctl;help;join-tokens;create'= {
        }
        &'llmlbctl;help;join-tokens;list'= {
        }
        &'llmlbctl;help;join-tokens;revoke'= {
        }
        &'llmlbctl;help;login'= {
        }
        &'llmlbctl;help;logout'= {
        }
        &'llmlbctl;help;migrate-json'= {
        }
        &'llmlbctl;help;completions'= {
        }
        &'llmlbctl;help;help'= {
        }
    ]
    $completions[$command]
}
