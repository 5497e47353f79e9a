complete -c llmlbd -l listen -d 'Address and port to serve the HTTP API on' -r
complete -c llmlbd -l data-dir -d 'Directory for the database and the admin credentials [default: $STATE_DIRECTORY under systemd, else $XDG_DATA_HOME/llmlb or ~/.local/share/llmlb]' -r -F
complete -c llmlbd -l heartbeat-interval -d 'Seconds between heartbeats, announced to nodes in every reply' -r
complete -c llmlbd -l node-timeout -d 'Seconds without a heartbeat after which a node is offline' -r
complete -c llmlbd -l probe-timeout -d 'How long the registration probe waits for the node (e.g. 2s)' -r
complete -c llmlbd -l runtime-token-max-age -d 'Rotate runtime tokens older than this by itself (e.g. 30d); off when not set' -r
complete -c llmlbd -l token-grace -d 'How long an old runtime token keeps working after a rotation starts, unless the rotate call says otherwise (1s to 30d)' -r
complete -c llmlbd -l header-timeout -d 'How long a client may take to send the headers of a request before the connection is closed (protects against idle or slow clients)' -r
complete -c llmlbd -l body-timeout -d 'How long a client may take to send a whole request body, on every route (a slow or stalled upload is answered 408 and dropped)' -r
complete -c llmlbd -l upstream-timeout -d 'How long to wait for a node to start answering a proxied request' -r
complete -c llmlbd -l upstream-connect-timeout -d 'How long to wait for a connection to a node before trying another' -r
complete -c llmlbd -l http-workers -d 'Threads serving HTTP, each with its own event loop [default: one per CPU core]' -r
complete -c llmlbd -l rate-limit -d 'Requests per second that one source address (an IPv6 /64) may make on the routes anyone can call: registration and login. 0 turns the limit off' -r
complete -c llmlbd -l rate-burst -d 'How many such requests one source may make at once before the rate applies' -r
complete -c llmlbd -l max-pending -d 'Most nodes that may wait in pending; further registrations are refused (429 too_many_pending) until an administrator approves or removes some' -r
complete -c llmlbd -l login-lockout -d 'How long logins are refused after 5 failed attempts for one username or from one address (the right password included; API keys still work). Each further failure doubles it, up to 15 minutes' -r
complete -c llmlbd -l max-gpu-devices -d 'Most GPU device entries one registration may list' -r
complete -c llmlbd -l max-models -d 'Most entries in each list of loaded models a heartbeat may send' -r
complete -c llmlbd -l max-tags -d 'Most tags (and supported runtimes) of a node' -r
complete -c llmlbd -l max-name-length -d 'Most characters in a machine name, version, tag, GPU or model name' -r
complete -c llmlbd -l max-notes-bytes -d 'Most bytes of an administrator\'s notes on a node' -r
complete -c llmlbd -l registration -d 'Who may register: anyone who can reach the daemon (`open`), or only machines that send a join token in X-Join-Token (`join-token`; create them with llmlbctl join-tokens create). Either way new nodes wait in pending unless their join token auto-approves them' -r -f -a "open\t'Anyone who can reach the daemon may register (and waits in pending)'
join-token\t'Only registrations with a valid join token'"
complete -c llmlbd -l audit-retention -d 'How long the audit trail keeps its rows (e.g. 90d); older ones are pruned in the background' -r
complete -c llmlbd -l tls-cert -d 'Serve HTTPS (every route, /v1 included) with this PEM certificate chain, the server\'s own certificate first. Needs --tls-key. Re-read on SIGHUP' -r -F
complete -c llmlbd -l tls-key -d 'The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)' -r -F
complete -c llmlbd -l tls -d '`self-signed`: serve HTTPS with a certificate made on first start and kept in the data dir (tls.crt, tls.key); its fingerprint and the agent command line that pins it are logged at start-up' -r -f -a "self-signed\t'Make a self-signed certificate in the data dir on first start'"
complete -c llmlbd -l tls-san -d 'An extra name (DNS name or IP address) for the self-signed certificate, besides the host name, localhost and the listen address. Repeatable; used only when the certificate is first made' -r
complete -c llmlbd -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c llmlbd -l no-reachability-check -d 'Do not probe a registering node\'s /v1/models before accepting it'
complete -c llmlbd -l require-api-key -d 'Require an API key of role inference (or admin) on the /v1 endpoints'
complete -c llmlbd -s h -l help -d 'Print help (see more with \'--help\')'
complete -c llmlbd -s V -l version -d 'Print version'
