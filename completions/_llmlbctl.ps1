
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'llmlbctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'llmlbctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'llmlbctl' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the daemon''s version, uptime and node counts')
            [CompletionResult]::new('nodes', 'nodes', [CompletionResultType]::ParameterValue, 'List, inspect, approve and manage nodes')
            [CompletionResult]::new('api-keys', 'api-keys', [CompletionResultType]::ParameterValue, 'Create, list, rotate and revoke API keys')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail: who approved, removed, rotated, logged in…')
            [CompletionResult]::new('join-tokens', 'join-tokens', [CompletionResultType]::ParameterValue, 'Create, list and revoke join tokens, which let machines register')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in with a username and password and save the session for later commands (mode 0600 under the user''s config dir)')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'End the saved session and forget it')
            [CompletionResult]::new('migrate-json', 'migrate-json', [CompletionResultType]::ParameterValue, 'Import a legacy nodes.json into the daemon (JSON → SQLite)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;status' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List nodes, pending ones first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one node in detail')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve pending nodes so they receive traffic')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove nodes and revoke their tokens (this is how a pending node is rejected)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Set a node''s custom name, notes or tags')
            [CompletionResult]::new('rotate-token', 'rotate-token', [CompletionResultType]::ParameterValue, 'Start a token rotation: the node gets a new token in its next heartbeat reply')
            [CompletionResult]::new('revoke-token', 'revoke-token', [CompletionResultType]::ParameterValue, 'Revoke a node''s token at once; the node must register again')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Send a node no new requests; it stays registered')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Let a drained node receive requests again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;nodes;list' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only nodes with this status')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'More columns: full ids, versions, metrics, times, tags')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;show' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;approve' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--all-pending', '--all-pending', [CompletionResultType]::ParameterName, 'Approve every pending node')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;remove' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;edit' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Custom name shown beside the machine name ("" clears it)')
            [CompletionResult]::new('--notes', '--notes', [CompletionResultType]::ParameterName, 'Free-form notes ("" clears them)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Tags; repeat for several. Replaces the node''s tags')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--clear-tags', '--clear-tags', [CompletionResultType]::ParameterName, 'Remove all tags')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;rotate-token' {
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long the old token keeps working (e.g. 10m) [default: the daemon''s]')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;revoke-token' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;drain' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;undrain' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;nodes;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List nodes, pending ones first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one node in detail')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve pending nodes so they receive traffic')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove nodes and revoke their tokens (this is how a pending node is rejected)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Set a node''s custom name, notes or tags')
            [CompletionResult]::new('rotate-token', 'rotate-token', [CompletionResultType]::ParameterValue, 'Start a token rotation: the node gets a new token in its next heartbeat reply')
            [CompletionResult]::new('revoke-token', 'revoke-token', [CompletionResultType]::ParameterValue, 'Revoke a node''s token at once; the node must register again')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Send a node no new requests; it stays registered')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Let a drained node receive requests again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;nodes;help;list' {
            break
        }
        'llmlbctl;nodes;help;show' {
            break
        }
        'llmlbctl;nodes;help;approve' {
            break
        }
        'llmlbctl;nodes;help;remove' {
            break
        }
        'llmlbctl;nodes;help;edit' {
            break
        }
        'llmlbctl;nodes;help;rotate-token' {
            break
        }
        'llmlbctl;nodes;help;revoke-token' {
            break
        }
        'llmlbctl;nodes;help;drain' {
            break
        }
        'llmlbctl;nodes;help;undrain' {
            break
        }
        'llmlbctl;nodes;help;help' {
            break
        }
        'llmlbctl;api-keys' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key; its secret is printed this once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key at once')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a key''s secret; the old one stops working. The new secret is printed this once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;api-keys;create' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A name saying who or what uses the key')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'What the key may do')
            [CompletionResult]::new('--expires-in', '--expires-in', [CompletionResultType]::ParameterName, 'Lifetime (e.g. 30d), from 1s to 3650d (10 years); the key never expires without it')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmlbctl;api-keys;list' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;api-keys;revoke' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;api-keys;rotate' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;api-keys;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key; its secret is printed this once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key at once')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a key''s secret; the old one stops working. The new secret is printed this once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;api-keys;help;create' {
            break
        }
        'llmlbctl;api-keys;help;list' {
            break
        }
        'llmlbctl;api-keys;help;revoke' {
            break
        }
        'llmlbctl;api-keys;help;rotate' {
            break
        }
        'llmlbctl;api-keys;help;help' {
            break
        }
        'llmlbctl;audit' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events of the last this long (e.g. 1h, 7d)')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only events about this node (id or unique prefix)')
            [CompletionResult]::new('--action', '--action', [CompletionResultType]::ParameterName, 'Only this action (node.approve) or group of actions (node)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most events shown, newest first')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;join-tokens' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List join tokens (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a join token at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;join-tokens;create' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A label for people')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'How long it is valid (e.g. 24h, 7d), from 1s to 365d')
            [CompletionResult]::new('--uses', '--uses', [CompletionResultType]::ParameterName, 'How many registrations it admits [default: unlimited]')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'A tag for every node that registers with it; repeat for several')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--never-expires', '--never-expires', [CompletionResultType]::ParameterName, 'The token never expires (revoke it when done)')
            [CompletionResult]::new('--auto-approve', '--auto-approve', [CompletionResultType]::ParameterName, 'Approve the nodes that register with it at once')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;join-tokens;list' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;join-tokens;revoke' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;join-tokens;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List join tokens (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a join token at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;join-tokens;help;create' {
            break
        }
        'llmlbctl;join-tokens;help;list' {
            break
        }
        'llmlbctl;join-tokens;help;revoke' {
            break
        }
        'llmlbctl;join-tokens;help;help' {
            break
        }
        'llmlbctl;login' {
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'The user to log in as')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from stdin instead of the terminal (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;logout' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;migrate-json' {
            [CompletionResult]::new('--on-conflict', '--on-conflict', [CompletionResultType]::ParameterName, 'What to do with a record whose id the daemon already has')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Records per request')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Validate and report what would happen, without writing anything')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep the file where it is instead of renaming it to FILE.migrated')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'llmlbctl;completions' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL of the daemon')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token: an API key or a session token')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the bearer token from this file')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it), whoever issued it; a self-signed daemon certificate is trusted this way')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, or the API''s JSON as is')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the daemon (e.g. 30s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'llmlbctl;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the daemon''s version, uptime and node counts')
            [CompletionResult]::new('nodes', 'nodes', [CompletionResultType]::ParameterValue, 'List, inspect, approve and manage nodes')
            [CompletionResult]::new('api-keys', 'api-keys', [CompletionResultType]::ParameterValue, 'Create, list, rotate and revoke API keys')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail: who approved, removed, rotated, logged in…')
            [CompletionResult]::new('join-tokens', 'join-tokens', [CompletionResultType]::ParameterValue, 'Create, list and revoke join tokens, which let machines register')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in with a username and password and save the session for later commands (mode 0600 under the user''s config dir)')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'End the saved session and forget it')
            [CompletionResult]::new('migrate-json', 'migrate-json', [CompletionResultType]::ParameterValue, 'Import a legacy nodes.json into the daemon (JSON → SQLite)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'llmlbctl;help;status' {
            break
        }
        'llmlbctl;help;nodes' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List nodes, pending ones first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one node in detail')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve pending nodes so they receive traffic')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove nodes and revoke their tokens (this is how a pending node is rejected)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Set a node''s custom name, notes or tags')
            [CompletionResult]::new('rotate-token', 'rotate-token', [CompletionResultType]::ParameterValue, 'Start a token rotation: the node gets a new token in its next heartbeat reply')
            [CompletionResult]::new('revoke-token', 'revoke-token', [CompletionResultType]::ParameterValue, 'Revoke a node''s token at once; the node must register again')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Send a node no new requests; it stays registered')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Let a drained node receive requests again')
            break
        }
        'llmlbctl;help;nodes;list' {
            break
        }
        'llmlbctl;help;nodes;show' {
            break
        }
        'llmlbctl;help;nodes;approve' {
            break
        }
        'llmlbctl;help;nodes;remove' {
            break
        }
        'llmlbctl;help;nodes;edit' {
            break
        }
        'llmlbctl;help;nodes;rotate-token' {
            break
        }
        'llmlbctl;help;nodes;revoke-token' {
            break
        }
        'llmlbctl;help;nodes;drain' {
            break
        }
        'llmlbctl;help;nodes;undrain' {
            break
        }
        'llmlbctl;help;api-keys' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key; its secret is printed this once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key at once')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a key''s secret; the old one stops working. The new secret is printed this once')
            break
        }
        'llmlbctl;help;api-keys;create' {
            break
        }
        'llmlbctl;help;api-keys;list' {
            break
        }
        'llmlbctl;help;api-keys;revoke' {
            break
        }
        'llmlbctl;help;api-keys;rotate' {
            break
        }
        'llmlbctl;help;audit' {
            break
        }
        'llmlbctl;help;join-tokens' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a join token; it is printed this once. Give it to the agents: llmlb-node --join-token-file FILE')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List join tokens (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a join token at once')
            break
        }
        'llmlbctl;help;join-tokens;create' {
            break
        }
        'llmlbctl;help;join-tokens;list' {
            break
        }
        'llmlbctl;help;join-tokens;revoke' {
            break
        }
        'llmlbctl;help;login' {
            break
        }
        'llmlbctl;help;logout' {
            break
        }
        'llmlbctl;help;migrate-json' {
            break
        }
        'llmlbctl;help;completions' {
            break
        }
        'llmlbctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
