
use builtin;
use str;

set edit:completion:arg-completer[llmlb-node] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'llmlb-node'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'llmlb-node'= {
            cand --lb-url 'URL of the llmlb daemon'
            cand --ca-cert 'Trust an https:// daemon whose certificate this PEM file''s CA (or CAs) signed, instead of the system''s root certificates'
            cand --lb-fingerprint 'Trust exactly the https:// daemon certificate with this fingerprint (sha256:HEX, as llmlbd logs it with the command line to use), whoever issued it. A certificate that does not match stops the agent before anything is sent'
            cand --runtime-url 'URL of the local OpenAI-compatible inference server (llama.cpp server, vLLM, Ollama) the daemon sends requests to'
            cand --advertise-ip 'Address the daemon reaches this machine at [default: the local address that routes to the daemon]'
            cand --node-api-port 'Port the daemon probes for /v1/models [default: the runtime''s port]'
            cand --machine-name 'Name of this machine [default: the host name]'
            cand --runtime-version 'Version of the inference server, as shown to administrators'
            cand --state-dir 'Where the node id and its token are kept [default: $STATE_DIRECTORY under systemd, else $XDG_STATE_HOME/llmlb-node or ~/.local/state/llmlb-node]'
            cand --gpu 'Declare GPUs NVML cannot see, as MODEL:COUNT[:MEMORY] (memory per device, e.g. 80GiB, 24GB or bytes). Repeat for several models'
            cand --tag 'Tags sent at registration; repeat for several'
            cand --join-token 'A join token from an administrator (llmlbctl join-tokens create), sent when registering; needed when the daemon runs with --registration join-token. Prefer --join-token-file: a flag''s value is visible to other users in the process list'
            cand --join-token-file 'Read the join token from this file (its first line)'
            cand --log-format 'Log format on stderr'
            cand --detect 'Print the GPUs found (NVML and --gpu) as JSON and exit'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
