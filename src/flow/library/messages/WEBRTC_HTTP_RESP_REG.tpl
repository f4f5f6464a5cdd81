HTTP/1.1 200 OK
Access-Control-Allow-Origin: *
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"registrationInformation":{"resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/racm/v1/{session-id:url:json}/registration/{reg-id:url:json}","clientIP":"{client-ip:json}","regInfo":[{"msisdn":"{msisdn1:json}","lineId":"line1","email":"{email1:json}","regStatus":{"duration":3500,"registrationState":"Registered"},"instanceList":{"Instance":{"instanceId":"urn:uuid:{uuid}","status":"active"}},"isSim":"false","permissionChangeTrigger":"false"},{"msisdn":"{msisdn2:json}","lineId":"line2","email":"{email2:json}","regStatus":{"duration":3500,"registrationState":"Registered"},"isSim":"false","permissionChangeTrigger":"false"}]}}
