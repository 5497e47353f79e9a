complete -c llmlb-node -l lb-url -d 'URL of the llmlb daemon' -r
complete -c llmlb-node -l ca-cert -d 'Trust an https:// daemon whose certificate this PEM file\'s CA (or CAs) signed, instead of the system\'s root certificates' -r -F
complete -c llmlb-node -l lb-fingerprint -d 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it with the command line to use), whoever issued it. A certificate that does not match stops the agent before anything is sent' -r
complete -c llmlb-node -l runtime-url -d 'URL of the local OpenAI-compatible inference server (llama.cpp server, vLLM, Ollama) the daemon sends requests to' -r
complete -c llmlb-node -l advertise-ip -d 'Address the daemon reaches this machine at [default: the local address that routes to the daemon]' -r
complete -c llmlb-node -l node-api-port -d 'Port the daemon probes for /v1/models [default: the runtime\'s port]' -r
complete -c llmlb-node -l machine-name -d 'Name of this machine [default: the host name]' -r
complete -c llmlb-node -l runtime-version -d 'Version of the inference server, as shown to administrators' -r
complete -c llmlb-node -l state-dir -d 'Where the node id and its token are kept [default: $STATE_DIRECTORY under systemd, else $XDG_STATE_HOME/llmlb-node or ~/.local/state/llmlb-node]' -r -F
complete -c llmlb-node -l gpu -d 'Declare GPUs NVML cannot see, as MODEL:COUNT[:MEMORY] (memory per device, e.g. 80GiB, 24GB or bytes). Repeat for several models' -r
complete -c llmlb-node -l tag -d 'Tags sent at registration; repeat for several' -r
complete -c llmlb-node -l join-token -d 'A join token from an administrator (llmlbctl join-tokens create), sent when registering; needed when the daemon runs with --registration join-token. Prefer --join-token-file: a flag\'s value is visible to other users in the process list' -r
complete -c llmlb-node -l join-token-file -d 'Read the join token from this file (its first line)' -r -F
complete -c llmlb-node -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c llmlb-node -l detect -d 'Print the GPUs found (NVML and --gpu) as JSON and exit'
complete -c llmlb-node -s h -l help -d 'Print help'
complete -c llmlb-node -s V -l version -d 'Print version'
