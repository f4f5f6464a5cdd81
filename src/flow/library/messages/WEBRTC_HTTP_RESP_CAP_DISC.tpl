HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/capabilitydiscovery/v1/{session-id:url}/capabilitySources/{cap-resource-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"capabilitySource":{"clientCorrelator":"{client-correlator:json}","duration":0,"resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/capabilitydiscovery/v1/{session-id:url:json}/capabilitySources/{cap-resource-id:url:json}","serviceCapability":[{"capabilityId":"IPVoiceCall","status":"Enabled"},{"capabilityId":"IPVideoCall","status":"Enabled"},{"capabilityId":"StandaloneMessaging","status":"Enabled"},{"capabilityId":"Chat","status":"Enabled"},{"capabilityId":"FileTransfer","status":"Enabled"},{"capabilityId":"Racm","status":"Enabled"},{"capabilityId":"USSD","status":"Enabled"}]}}
