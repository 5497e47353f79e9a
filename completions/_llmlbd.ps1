
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'llmlbd' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'llmlbd'
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
        'llmlbd' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to serve the HTTP API on')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Directory for the database and the admin credentials [default: $STATE_DIRECTORY under systemd, else $XDG_DATA_HOME/llmlb or ~/.local/share/llmlb]')
            [CompletionResult]::new('--heartbeat-interval', '--heartbeat-interval', [CompletionResultType]::ParameterName, 'Seconds between heartbeats, announced to nodes in every reply')
            [CompletionResult]::new('--node-timeout', '--node-timeout', [CompletionResultType]::ParameterName, 'Seconds without a heartbeat after which a node is offline')
            [CompletionResult]::new('--probe-timeout', '--probe-timeout', [CompletionResultType]::ParameterName, 'How long the registration probe waits for the node (e.g. 2s)')
            [CompletionResult]::new('--runtime-token-max-age', '--runtime-token-max-age', [CompletionResultType]::ParameterName, 'Rotate runtime tokens older than this by itself (e.g. 30d); off when not set')
            [CompletionResult]::new('--token-grace', '--token-grace', [CompletionResultType]::ParameterName, 'How long an old runtime token keeps working after a rotation starts, unless the rotate call says otherwise (1s to 30d)')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send the headers of a request before the connection is closed (protects against idle or slow clients)')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a whole request body, on every route (a slow or stalled upload is answered 408 and dropped)')
            [CompletionResult]::new('--upstream-timeout', '--upstream-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a node to start answering a proxied request')
            [CompletionResult]::new('--upstream-connect-timeout', '--upstream-connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a connection to a node before trying another')
            [CompletionResult]::new('--http-workers', '--http-workers', [CompletionResultType]::ParameterName, 'Threads serving HTTP, each with its own event loop [default: one per CPU core]')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Requests per second that one source address (an IPv6 /64) may make on the routes anyone can call: registration and login. 0 turns the limit off')
            [CompletionResult]::new('--rate-burst', '--rate-burst', [CompletionResultType]::ParameterName, 'How many such requests one source may make at once before the rate applies')
            [CompletionResult]::new('--max-pending', '--max-pending', [CompletionResultType]::ParameterName, 'Most nodes that may wait in pending; further registrations are refused (429 too_many_pending) until an administrator approves or removes some')
            [CompletionResult]::new('--login-lockout', '--login-lockout', [CompletionResultType]::ParameterName, 'How long logins are refused after 5 failed attempts for one username or from one address (the right password included; API keys still work). Each further failure doubles it, up to 15 minutes')
            [CompletionResult]::new('--max-gpu-devices', '--max-gpu-devices', [CompletionResultType]::ParameterName, 'Most GPU device entries one registration may list')
            [CompletionResult]::new('--max-models', '--max-models', [CompletionResultType]::ParameterName, 'Most entries in each list of loaded models a heartbeat may send')
            [CompletionResult]::new('--max-tags', '--max-tags', [CompletionResultType]::ParameterName, 'Most tags (and supported runtimes) of a node')
            [CompletionResult]::new('--max-name-length', '--max-name-length', [CompletionResultType]::ParameterName, 'Most characters in a machine name, version, tag, GPU or model name')
            [CompletionResult]::new('--max-notes-bytes', '--max-notes-bytes', [CompletionResultType]::ParameterName, 'Most bytes of an administrator''s notes on a node')
            [CompletionResult]::new('--registration', '--registration', [CompletionResultType]::ParameterName, 'Who may register: anyone who can reach the daemon (`open`), or only machines that send a join token in X-Join-Token (`join-token`; create them with llmlbctl join-tokens create). Either way new nodes wait in pending unless their join token auto-approves them')
            [CompletionResult]::new('--audit-retention', '--audit-retention', [CompletionResultType]::ParameterName, 'How long the audit trail keeps its rows (e.g. 90d); older ones are pruned in the background')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve HTTPS (every route, /v1 included) with this PEM certificate chain, the server''s own certificate first. Needs --tls-key. Re-read on SIGHUP')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`self-signed`: serve HTTPS with a certificate made on first start and kept in the data dir (tls.crt, tls.key); its fingerprint and the agent command line that pins it are logged at start-up')
            [CompletionResult]::new('--tls-san', '--tls-san', [CompletionResultType]::ParameterName, 'An extra name (DNS name or IP address) for the self-signed certificate, besides the host name, localhost and the listen address. Repeatable; used only when the certificate is first made')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--no-reachability-check', '--no-reachability-check', [CompletionResultType]::ParameterName, 'Do not probe a registering node''s /v1/models before accepting it')
            [CompletionResult]::new('--require-api-key', '--require-api-key', [CompletionResultType]::ParameterName, 'Require an API key of role inference (or admin) on the /v1 endpoints')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
