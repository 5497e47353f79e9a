
use builtin;
use str;

set edit:completion:arg-completer[llmlbd] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'llmlbd'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'llmlbd'= {
            cand --listen 'Address and port to serve the HTTP API on'
            cand --data-dir 'Directory for the database and the admin credentials [default: $STATE_DIRECTORY under systemd, else $XDG_DATA_HOME/llmlb or ~/.local/share/llmlb]'
            cand --heartbeat-interval 'Seconds between heartbeats, announced to nodes in every reply'
            cand --node-timeout 'Seconds without a heartbeat after which a node is offline'
            cand --probe-timeout 'How long the registration probe waits for the node (e.g. 2s)'
            cand --runtime-token-max-age 'Rotate runtime tokens older than this by itself (e.g. 30d); off when not set'
            cand --token-grace 'How long an old runtime token keeps working after a rotation starts, unless the rotate call says otherwise (1s to 30d)'
            cand --header-timeout 'How long a client may take to send the headers of a request before the connection is closed (protects against idle or slow clients)'
            cand --body-timeout 'How long a client may take to send a whole request body, on every route (a slow or stalled upload is answered 408 and dropped)'
            cand --upstream-timeout 'How long to wait for a node to start answering a proxied request'
            cand --upstream-connect-timeout 'How long to wait for a connection to a node before trying another'
            cand --http-workers 'Threads serving HTTP, each with its own event loop [default: one per CPU core]'
            cand --rate-limit 'Requests per second that one source address (an IPv6 /64) may make on the routes anyone can call: registration and login. 0 turns the limit off'
            cand --rate-burst 'How many such requests one source may make at once before the rate applies'
            cand --max-pending 'Most nodes that may wait in pending; further registrations are refused (429 too_many_pending) until an administrator approves or removes some'
            cand --login-lockout 'How long logins are refused after 5 failed attempts for one username or from one address (the right password included; API keys still work). Each further failure doubles it, up to 15 minutes'
            cand --max-gpu-devices 'Most GPU device entries one registration may list'
            cand --max-models 'Most entries in each list of loaded models a heartbeat may send'
            cand --max-tags 'Most tags (and supported runtimes) of a node'
            cand --max-name-length 'Most characters in a machine name, version, tag, GPU or model name'
            cand --max-notes-bytes 'Most bytes of an administrator''s notes on a node'
            cand --registration 'Who may register: anyone who can reach the daemon (`open`), or only machines that send a join token in X-Join-Token (`join-token`; create them with llmlbctl join-tokens create). Either way new nodes wait in pending unless their join token auto-approves them'
            cand --audit-retention 'How long the audit trail keeps its rows (e.g. 90d); older ones are pruned in the background'
            cand --tls-cert 'Serve HTTPS (every route, /v1 included) with this PEM certificate chain, the server''s own certificate first. Needs --tls-key. Re-read on SIGHUP'
            cand --tls-key 'The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)'
            cand --tls '`self-signed`: serve HTTPS with a certificate made on first start and kept in the data dir (tls.crt, tls.key); its fingerprint and the agent command line that pins it are logged at start-up'
            cand --tls-san 'An extra name (DNS name or IP address) for the self-signed certificate, besides the host name, localhost and the listen address. Repeatable; used only when the certificate is first made'
            cand --log-format 'Log format on stderr'
            cand --no-reachability-check 'Do not probe a registering node''s /v1/models before accepting it'
            cand --require-api-key 'Require an API key of role inference (or admin) on the /v1 endpoints'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
