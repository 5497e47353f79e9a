# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_llmlbctl_global_optspecs
    string join \n url= token= token-file= ca-cert= fingerprint= o/output= timeout= h/help V/version
end

function __fish_llmlbctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_llmlbctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_llmlbctl_using_subcommand
    set -l cmd (__fish_llmlbctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -s V -l version -d 'Print version'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "status" -d 'Show the daemon\'s version, uptime and node counts'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "nodes" -d 'List, inspect, approve and manage nodes'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "api-keys" -d 'Create, list, rotate and revoke API keys'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "audit" -d 'Show the audit trail: who approved, removed, rotated, logged in…'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "join-tokens" -d 'Create, list and revoke join tokens, which let machines register'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "login" -d 'Log in with a username and password and save the session for later commands (mode 0600 under the user\'s config dir)'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "logout" -d 'End the saved session and forget it'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "migrate-json" -d 'Import a legacy nodes.json into the daemon (JSON → SQLite)'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c llmlbctl -n "__fish_llmlbctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "list" -d 'List nodes, pending ones first'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "show" -d 'Show one node in detail'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "approve" -d 'Approve pending nodes so they receive traffic'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "remove" -d 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "edit" -d 'Set a node\'s custom name, notes or tags'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "rotate-token" -d 'Start a token rotation: the node gets a new token in its next heartbeat reply'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "revoke-token" -d 'Revoke a node\'s token at once; the node must register again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "drain" -d 'Send a node no new requests; it stays registered'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "undrain" -d 'Let a drained node receive requests again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and not __fish_seen_subcommand_from list show approve remove edit rotate-token revoke-token drain undrain help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l status -d 'Only nodes with this status' -r -f -a "pending\t''
registering\t''
online\t''
offline\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -l wide -d 'More columns: full ids, versions, metrics, times, tags'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -l all-pending -d 'Approve every pending node'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -s y -l yes -d 'Do not ask for confirmation'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from approve" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -s y -l yes -d 'Do not ask for confirmation'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l name -d 'Custom name shown beside the machine name ("" clears it)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l notes -d 'Free-form notes ("" clears them)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l tag -d 'Tags; repeat for several. Replaces the node\'s tags' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -l clear-tags -d 'Remove all tags'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l grace -d 'How long the old token keeps working (e.g. 10m) [default: the daemon\'s]' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from rotate-token" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from revoke-token" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from drain" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from undrain" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "list" -d 'List nodes, pending ones first'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one node in detail'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "approve" -d 'Approve pending nodes so they receive traffic'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Set a node\'s custom name, notes or tags'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "rotate-token" -d 'Start a token rotation: the node gets a new token in its next heartbeat reply'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "revoke-token" -d 'Revoke a node\'s token at once; the node must register again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "drain" -d 'Send a node no new requests; it stays registered'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "undrain" -d 'Let a drained node receive requests again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand nodes; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "create" -d 'Create a key; its secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "list" -d 'List keys (never their secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "revoke" -d 'Revoke a key at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "rotate" -d 'Replace a key\'s secret; the old one stops working. The new secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and not __fish_seen_subcommand_from create list revoke rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l name -d 'A name saying who or what uses the key' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l role -d 'What the key may do' -r -f -a "admin\t'Everything'
viewer\t'Read-only'
inference\t'Only the OpenAI-compatible /v1 endpoints'"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l expires-in -d 'Lifetime (e.g. 30d), from 1s to 3650d (10 years); the key never expires without it' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a key; its secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys (never their secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a key at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Replace a key\'s secret; the old one stops working. The new secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand api-keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l since -d 'Only events of the last this long (e.g. 1h, 7d)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l node -d 'Only events about this node (id or unique prefix)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l action -d 'Only this action (node.approve) or group of actions (node)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l limit -d 'Most events shown, newest first' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand audit" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List join tokens (never the secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a join token at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l name -d 'A label for people' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l ttl -d 'How long it is valid (e.g. 24h, 7d), from 1s to 365d' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l uses -d 'How many registrations it admits [default: unlimited]' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l tag -d 'A tag for every node that registers with it; repeat for several' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l never-expires -d 'The token never expires (revoke it when done)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -l auto-approve -d 'Approve the nodes that register with it at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from help" -f -a "list" -d 'List join tokens (never the secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a join token at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand join-tokens; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l username -d 'The user to log in as' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -l password-stdin -d 'Read the password from stdin instead of the terminal (for scripts)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand login" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand logout" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l on-conflict -d 'What to do with a record whose id the daemon already has' -r -f -a "skip\t'Leave the existing node as it is'
overwrite\t'Replace the existing node\'s fields with the record\'s'"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l batch-size -d 'Records per request' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l dry-run -d 'Validate and report what would happen, without writing anything'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -l keep -d 'Keep the file where it is instead of renaming it to FILE.migrated'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand migrate-json" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l url -d 'URL of the daemon' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l token -d 'Bearer token: an API key or a session token' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l token-file -d 'Read the bearer token from this file' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -s o -l output -d 'Output format: a table for people, or the API\'s JSON as is' -r -f -a "table\t''
json\t''"
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -l timeout -d 'How long to wait for the daemon (e.g. 30s)' -r
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "status" -d 'Show the daemon\'s version, uptime and node counts'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "nodes" -d 'List, inspect, approve and manage nodes'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "api-keys" -d 'Create, list, rotate and revoke API keys'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "audit" -d 'Show the audit trail: who approved, removed, rotated, logged in…'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "join-tokens" -d 'Create, list and revoke join tokens, which let machines register'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "login" -d 'Log in with a username and password and save the session for later commands (mode 0600 under the user\'s config dir)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "logout" -d 'End the saved session and forget it'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "migrate-json" -d 'Import a legacy nodes.json into the daemon (JSON → SQLite)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and not __fish_seen_subcommand_from status nodes api-keys audit join-tokens login logout migrate-json completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "list" -d 'List nodes, pending ones first'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "show" -d 'Show one node in detail'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "approve" -d 'Approve pending nodes so they receive traffic'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "remove" -d 'Remove nodes and revoke their tokens (this is how a pending node is rejected)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "edit" -d 'Set a node\'s custom name, notes or tags'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "rotate-token" -d 'Start a token rotation: the node gets a new token in its next heartbeat reply'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "revoke-token" -d 'Revoke a node\'s token at once; the node must register again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "drain" -d 'Send a node no new requests; it stays registered'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from nodes" -f -a "undrain" -d 'Let a drained node receive requests again'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from api-keys" -f -a "create" -d 'Create a key; its secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from api-keys" -f -a "list" -d 'List keys (never their secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from api-keys" -f -a "revoke" -d 'Revoke a key at once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from api-keys" -f -a "rotate" -d 'Replace a key\'s secret; the old one stops working. The new secret is printed this once'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from join-tokens" -f -a "create" -d 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from join-tokens" -f -a "list" -d 'List join tokens (never the secrets)'
complete -c llmlbctl -n "__fish_llmlbctl_using_subcommand help; and __fish_seen_subcommand_from join-tokens" -f -a "revoke" -d 'Revoke a join token at once'
