HTTP/1.1 200 OK
Access-Control-Allow-Origin: *
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"capabilitySource":{"clientCorrelator":"{client-correlator:json}","duration":0,"resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/capabilitydiscovery/v1/{session-id:url:json}/capabilitySources/{cap-resource-id:url:json}","serviceCapability":[{"capabilityId":"IPVoiceCall","status":"Enabled"},{"capabilityId":"IPVideoCall","status":"Enabled"},{"capabilityId":"StandaloneMessaging","status":"Enabled"},{"capabilityId":"Chat","status":"Enabled"},{"capabilityId":"FileTransfer","status":"Enabled"},{"capabilityId":"Racm","status":"Enabled"},{"capabilityId":"USSD","status":"Enabled"}]}}
